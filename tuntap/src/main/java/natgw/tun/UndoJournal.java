package natgw.tun;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.agrona.concurrent.UnsafeBuffer;

import static natgw.tun.HostNetworkSyntax.PROC_SYS;

/**
 * The undo journal of a {@link HostNetwork}: its file format, its locks, and the replay of what it holds.
 * <p>
 * The file, {@code /run/natgw/<owner>@netns-<inode>.journal}, starts with a header line
 * ({@code natgw-host-network-journal 1 owner=.. netns=.. cookie=.. pid=.. started=..}); then each change is
 * appended, before it is applied, as {@code undo ID FIELD...}: the command that undoes it, fields URL-encoded. A
 * change that fails is followed by {@code void ID}. Replaying runs the undo commands of the steps not void, in
 * reverse order; a step whose object is already gone (a route through a TUN device that died with the process)
 * counts as undone.
 * <p>
 * The journal path is global to the machine but routes and rules belong to a network namespace, so the
 * file name carries the namespace's inode; its header also records the namespace cookie (SO_NETNS_COOKIE,
 * never reused while the machine runs), so a journal whose namespace has died since, and whose inode number
 * was reused, is recognised and discarded rather than replayed in the wrong namespace. A live gateway holds
 * a lock on its journal for its lifetime (released by the kernel when the process dies), which is how
 * recovery tells a stale journal from a running gateway's. A journal is deleted once undone. Opening and
 * locking a journal, and deleting and unlocking it, each happen under a short lock on the directory
 * ({@code /run/natgw/.lock}), so that no opener can end up holding the lock of a file already unlinked.
 */
final class UndoJournal
{
    private static final System.Logger LOG = System.getLogger(HostNetwork.class.getName());
    private static final String MAGIC = "natgw-host-network-journal";
    private static final List<String> GONE = List.of(
        "No such file or directory", "No such process", "Cannot find device", "does not exist", "not found");
    /** Journals open in this JVM: POSIX locks are per process, so these must not be opened a second time. */
    private static final Set<Path> OPEN_JOURNALS = ConcurrentHashMap.newKeySet();
    /** One directory-lock channel at a time in this JVM, for the same reason. */
    private static final Object DIRECTORY_MUTEX = new Object();
    private static final String DIRECTORY_LOCK = ".lock";

    private final Path path;
    private final FileChannel channel;
    private int nextStepId = 1;

    private UndoJournal(final Path path, final FileChannel channel)
    {
        this.path = path;
        this.channel = channel;
    }

    /**
     * Opens and locks the journal of {@code owner} in the namespace {@code netnsInode} (the calling thread's),
     * replays what a dead process left in it, and starts it afresh.
     *
     * @throws IllegalStateException if a running process (or this JVM) already holds it.
     */
    static UndoJournal open(final String owner, final Path dir, final long netnsInode)
    {
        final Path journal = journalPath(dir, owner, netnsInode);
        if (!OPEN_JOURNALS.add(journal))
        {
            throw new IllegalStateException("host network of '" + owner + "' is already open in this JVM (" + journal + ")");
        }

        FileChannel channel = null;
        try
        {
            channel = underDirectoryLock(dir, () ->
            {
                final FileChannel ch = FileChannel.open(
                    journal, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
                lockOrExplain(ch, journal, owner);
                return ch;
            });
            final long cookie = netnsCookie();
            final List<String> recovered = recover(channel, journal, cookie);
            if (!recovered.isEmpty())
            {
                LOG.log(Level.WARNING, "undid " + recovered.size() + " change(s) left by a previous run: " + recovered);
            }
            channel.truncate(0);
            channel.write(ByteBuffer.wrap((MAGIC + " 1 owner=" + owner + " netns=" + netnsInode + " cookie=" + cookie +
                " pid=" + ProcessHandle.current().pid() + " started=" + Instant.now() + "\n").getBytes(StandardCharsets.UTF_8)));
            return new UndoJournal(journal, channel);
        }
        catch (final IOException ex)
        {
            abandon(journal, channel);
            throw new UncheckedIOException("cannot create the undo journal " + journal + " (" +
                IoMessages.describe(ex) + ")" + (ex instanceof AccessDeniedException ?
                "; changing the host network needs root, or CAP_NET_ADMIN and write access to " + dir : ""), ex);
        }
        catch (final RuntimeException | Error ex)
        {
            abandon(journal, channel);
            throw ex;
        }
    }

    /**
     * Replays and deletes the journal a process with this {@code owner} left in the namespace {@code netnsInode}
     * (the calling thread's) when it died without undoing its changes.
     *
     * @return one line per step: the undo command and how it went; empty if there was nothing to undo.
     * @throws IllegalStateException if the journal belongs to a running process.
     */
    static List<String> recoverStale(final String owner, final Path dir, final long netnsInode)
    {
        final Path journal = journalPath(dir, owner, netnsInode);
        if (!OPEN_JOURNALS.add(journal))
        {
            throw new IllegalStateException("host network of '" + owner + "' is open in this JVM: undo it with undoAll()");
        }
        try
        {
            final FileChannel channel = underDirectoryLock(dir, () ->
            {
                final FileChannel ch;
                try
                {
                    ch = FileChannel.open(journal, StandardOpenOption.READ, StandardOpenOption.WRITE);
                }
                catch (final NoSuchFileException ex)
                {
                    return null;
                }
                lockOrExplain(ch, journal, owner);
                return ch;
            });
            if (null == channel)
            {
                return List.of();
            }
            final List<String> recovered;
            try
            {
                recovered = recover(channel, journal, netnsCookie());
            }
            catch (final IOException | RuntimeException ex)
            {
                closeQuietly(channel); // keep the journal: it was not undone
                throw ex;
            }
            deleteAndRelease(journal, channel);
            return recovered;
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot recover the undo journal " + journal + " (" +
                IoMessages.describe(ex) + ")", ex);
        }
        finally
        {
            OPEN_JOURNALS.remove(journal);
        }
    }

    Path path()
    {
        return path;
    }

    /** Appends a step before its change is applied; returns its id, for {@link #voidStep} if the change fails. */
    int step(final List<String> undo)
    {
        final int id = nextStepId++;
        final List<String> fields = new ArrayList<>(List.of("undo", Integer.toString(id)));
        fields.addAll(undo);
        appendLine(fields);
        return id;
    }

    /** Marks a step whose change failed, so that no replay undoes it. */
    void voidStep(final int id)
    {
        try
        {
            appendLine(List.of("void", Integer.toString(id)));
        }
        catch (final RuntimeException ex)
        {
            LOG.log(Level.WARNING, "cannot mark journal step " + id + " void", ex);
        }
    }

    /**
     * Deletes the journal, whose changes are undone, and releases its lock.
     *
     * @return false if it could not be deleted (logged).
     */
    boolean release()
    {
        boolean deleted = true;
        try
        {
            deleteAndRelease(path, channel);
        }
        catch (final IOException ex)
        {
            deleted = false;
            LOG.log(Level.WARNING, "cannot delete journal " + path, ex);
            closeQuietly(channel);
        }
        OPEN_JOURNALS.remove(path);
        return deleted;
    }

    /** Closes the journal and leaves its file behind, after the host network failed to open around it. */
    void abandon()
    {
        abandon(path, channel);
    }

    private void appendLine(final List<String> fields)
    {
        final StringBuilder line = new StringBuilder();
        for (final String field : fields)
        {
            if (line.length() > 0)
            {
                line.append(' ');
            }
            line.append(URLEncoder.encode(field, StandardCharsets.UTF_8));
        }
        line.append('\n');
        final ByteBuffer bytes = ByteBuffer.wrap(line.toString().getBytes(StandardCharsets.UTF_8));
        try
        {
            while (bytes.hasRemaining())
            {
                channel.write(bytes);
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot write the undo journal " + path + " (" + IoMessages.describe(ex) + ")", ex);
        }
    }

    /** Runs one undo step in the current thread's namespace; returns "undone", "already gone" or "failed: why". */
    static String replay(final Step step)
    {
        final List<String> undo = step.undo;
        String outcome;
        if ("ip".equals(undo.get(0)))
        {
            final CommandResult result = Exec.ip(undo.subList(1, undo.size()));
            if (result.ok())
            {
                outcome = "undone";
            }
            else if (GONE.stream().anyMatch(result.stderr()::contains))
            {
                outcome = "already gone";
            }
            else
            {
                outcome = "failed: " + result.describe();
            }
        }
        else if ("sysctl".equals(undo.get(0)) && undo.size() == 3)
        {
            final Path sysctl = PROC_SYS.resolve(undo.get(1));
            try
            {
                Files.write(sysctl, undo.get(2).getBytes(StandardCharsets.UTF_8), StandardOpenOption.WRITE);
                outcome = "undone";
            }
            catch (final NoSuchFileException ex)
            {
                outcome = "already gone";
            }
            catch (final IOException ex)
            {
                outcome = "failed: cannot write " + IoMessages.describe(ex);
            }
        }
        else
        {
            outcome = "failed: unknown journal step";
        }

        LOG.log(outcome.startsWith("failed") ? Level.WARNING : Level.DEBUG, step + ": " + outcome);
        return outcome;
    }

    private static List<String> recover(final FileChannel channel, final Path journal, final long cookie) throws IOException
    {
        final ByteBuffer bytes = ByteBuffer.allocate((int)Math.min(channel.size(), 16 << 20));
        while (bytes.hasRemaining() && channel.read(bytes, bytes.position()) > 0)
        {
            // a journal is small: one read, in practice
        }
        final String text = new String(bytes.array(), 0, bytes.position(), StandardCharsets.UTF_8);
        if (text.isBlank())
        {
            return List.of();
        }

        final String[] lines = text.split("\n");
        final long journalCookie = headerLong(lines[0], "cookie");
        if (!lines[0].startsWith(MAGIC))
        {
            LOG.log(Level.WARNING, journal + " is not a natgw journal; ignoring it");
            return List.of();
        }
        if (journalCookie != 0 && cookie != 0 && journalCookie != cookie)
        {
            LOG.log(Level.INFO, journal + " was written in a network namespace that no longer exists " +
                "(the inode number was reused); its changes died with it");
            return List.of();
        }

        final List<Step> steps = new ArrayList<>();
        final Set<Integer> voided = new HashSet<>();
        for (int i = 1; i < lines.length; i++)
        {
            final String[] fields = lines[i].trim().split(" ");
            if (fields.length >= 3 && "undo".equals(fields[0]))
            {
                final List<String> undo = new ArrayList<>();
                for (int f = 2; f < fields.length; f++)
                {
                    undo.add(URLDecoder.decode(fields[f], StandardCharsets.UTF_8));
                }
                steps.add(new Step(Integer.parseInt(fields[1]), undo));
            }
            else if (fields.length == 2 && "void".equals(fields[0]))
            {
                voided.add(Integer.parseInt(fields[1]));
            }
        }

        final List<String> report = new ArrayList<>();
        for (int i = steps.size() - 1; i >= 0; i--)
        {
            final Step step = steps.get(i);
            if (!voided.contains(step.id))
            {
                report.add(step + ": " + replay(step));
            }
        }
        return report;
    }

    private static void lockOrExplain(final FileChannel channel, final Path journal, final String owner) throws IOException
    {
        if (null == channel.tryLock())
        {
            final ByteBuffer bytes = ByteBuffer.allocate(512);
            channel.read(bytes, 0);
            final String header = new String(bytes.array(), 0, bytes.position(), StandardCharsets.UTF_8).split("\n")[0];
            channel.close();
            final long pid = headerLong(header, "pid");
            throw new IllegalStateException("the host network of '" + owner + "' is held by a running process" +
                (pid > 0 ? " (pid " + pid + ")" : "") + ": another gateway with this name runs in this network " +
                "namespace; stop it, or choose another name (journal " + journal + ")");
        }
    }

    /** Runs {@code action} holding the journal directory's lock (a brief one, around open and delete only). */
    private static <T> T underDirectoryLock(final Path dir, final IoAction<T> action) throws IOException
    {
        synchronized (DIRECTORY_MUTEX)
        {
            Files.createDirectories(dir);
            try (FileChannel lockFile = FileChannel.open(
                dir.resolve(DIRECTORY_LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock ignored = lockFile.lock())
            {
                return action.run();
            }
        }
    }

    /** Unlinks a journal that is undone, then releases its lock by closing it. */
    private static void deleteAndRelease(final Path journal, final FileChannel channel) throws IOException
    {
        underDirectoryLock(journal.getParent(), () ->
        {
            Files.deleteIfExists(journal);
            channel.close();
            return null;
        });
    }

    @FunctionalInterface
    private interface IoAction<T>
    {
        T run() throws IOException;
    }

    private static void abandon(final Path journal, final FileChannel channel)
    {
        closeQuietly(channel);
        OPEN_JOURNALS.remove(journal);
    }

    private static void closeQuietly(final FileChannel channel)
    {
        if (null != channel)
        {
            try
            {
                channel.close();
            }
            catch (final IOException ignore)
            {
            }
        }
    }

    static Path journalPath(final Path dir, final String owner, final long netnsInode)
    {
        return dir.resolve(owner + "@netns-" + netnsInode + ".journal");
    }

    private static long headerLong(final String header, final String key)
    {
        for (final String field : header.split(" "))
        {
            if (field.startsWith(key + "="))
            {
                try
                {
                    return Long.parseUnsignedLong(field.substring(key.length() + 1));
                }
                catch (final NumberFormatException ex)
                {
                    return 0;
                }
            }
        }
        return 0;
    }

    /** SO_NETNS_COOKIE of the calling thread's namespace (Linux 5.14+), or 0 where the kernel lacks it. */
    static long netnsCookie()
    {
        final Native.LibC libc = Native.libc();
        final int fd = libc.socket(Native.AF_INET, Native.SOCK_DGRAM | Native.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            return 0;
        }
        try
        {
            final UnsafeBuffer buf = new UnsafeBuffer(ByteBuffer.allocateDirect(16));
            buf.putInt(8, 8);
            return libc.getsockopt(fd, Native.SOL_SOCKET, Native.SO_NETNS_COOKIE, buf.addressOffset(),
                buf.addressOffset() + 8) == 0 ? buf.getLong(0) : 0;
        }
        finally
        {
            libc.close(fd);
        }
    }

    /** One journalled change: its id and the command that undoes it. */
    static final class Step
    {
        final int id;
        final List<String> undo;

        Step(final int id, final List<String> undo)
        {
            this.id = id;
            this.undo = undo;
        }

        public String toString()
        {
            return String.join(" ", undo);
        }
    }
}
