package natgw.tun;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.UnknownHostException;
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
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * The routes, policy rules, proxy-neighbour entries and sysctls the gateway adds to the host, each undone on
 * exit, even after a SIGKILL.
 * <p>
 * Every change is first appended to a journal, {@code /run/natgw/<owner>@netns-<inode>.journal}, as the
 * command that undoes it, and only then applied (a change that fails is marked void). {@link #undoAll()}
 * undoes the changes in reverse order. If the process dies first, the journal stays behind and
 * {@link #recoverStale} (which {@link #open} runs, and a {@code natgw cleanup} command can run) undoes it.
 * Undoing is idempotent: a step whose object is already gone (a route through a TUN device that died with
 * the process) counts as undone.
 * <p>
 * The journal path is global to the machine but routes and rules belong to a network namespace, so the
 * file name carries the namespace's inode; its header also records the namespace cookie (SO_NETNS_COOKIE,
 * never reused while the machine runs), so a journal whose namespace has died since, and whose inode number
 * was reused, is recognised and discarded rather than replayed in the wrong namespace. A live gateway holds
 * a lock on its journal for its lifetime (released by the kernel when the process dies), which is how
 * recovery tells a stale journal from a running gateway's. A journal is deleted once undone. Opening and
 * locking a journal, and deleting and unlocking it, each happen under a short lock on the directory
 * ({@code /run/natgw/.lock}), so that no opener can end up holding the lock of a file already unlinked.
 * <p>
 * Changes are made with iproute2's {@code ip} (not on the hot path) and sysctls by writing /proc/sys, in the
 * network namespace of the thread that called {@link #open}, whatever thread calls later (a JVM shutdown
 * hook runs on a thread of its own). Methods are synchronized; {@link #undoAll()} is effective once, and a
 * second caller (normal exit racing a shutdown hook) waits for the first to finish.
 */
public final class HostNetwork implements AutoCloseable
{
    public static final Path DEFAULT_JOURNAL_DIR = Path.of("/run/natgw");

    private static final System.Logger LOG = System.getLogger(HostNetwork.class.getName());
    private static final String MAGIC = "natgw-host-network-journal";
    private static final Pattern OWNER = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    private static final Pattern IP_LITERAL = Pattern.compile("[0-9A-Fa-f:.]+");
    private static final Pattern CIDR = Pattern.compile("[0-9A-Fa-f:.]+(/\\d{1,3})?");
    private static final Pattern SYSCTL_KEY = Pattern.compile("net[./][A-Za-z0-9_./-]+");
    private static final Path PROC_SYS = Path.of("/proc/sys");
    private static final List<String> GONE = List.of(
        "No such file or directory", "No such process", "Cannot find device", "does not exist", "not found");
    /** Journals open in this JVM: POSIX locks are per process, so these must not be opened a second time. */
    private static final Set<Path> OPEN_JOURNALS = ConcurrentHashMap.newKeySet();
    /** One directory-lock channel at a time in this JVM, for the same reason. */
    private static final Object DIRECTORY_MUTEX = new Object();
    private static final String DIRECTORY_LOCK = ".lock";

    private final String owner;
    private final Path journal;
    private final FileChannel channel;
    private final long netnsInode;
    private final int netnsFd;
    private final List<Step> applied = new ArrayList<>();
    private int nextStepId = 1;
    private boolean undone;
    private boolean cleanlyUndone;
    private Thread shutdownHook;

    private HostNetwork(
        final String owner, final Path journal, final FileChannel channel, final long netnsInode, final int netnsFd)
    {
        this.owner = owner;
        this.journal = journal;
        this.channel = channel;
        this.netnsInode = netnsInode;
        this.netnsFd = netnsFd;
    }

    /**
     * Starts journalling changes for {@code owner} (e.g. the TUN name) in the calling thread's network
     * namespace, after undoing whatever a dead process with the same owner left there.
     *
     * @throws IllegalStateException if a running process (or this JVM) already has {@code owner} open in this
     *                               namespace.
     */
    public static HostNetwork open(final String owner)
    {
        return open(owner, DEFAULT_JOURNAL_DIR);
    }

    static HostNetwork open(final String owner, final Path dir)
    {
        requireOwner(owner);
        Native.ensureAvailable();
        final long inode = Netns.currentInode();
        final Path journal = journalPath(dir, owner, inode);
        if (!OPEN_JOURNALS.add(journal))
        {
            throw new IllegalStateException("host network of '" + owner + "' is already open in this JVM (" + journal + ")");
        }

        FileChannel channel = null;
        int nsFd = -1;
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
            channel.write(ByteBuffer.wrap((MAGIC + " 1 owner=" + owner + " netns=" + inode + " cookie=" + cookie +
                " pid=" + ProcessHandle.current().pid() + " started=" + Instant.now() + "\n").getBytes(StandardCharsets.UTF_8)));
            nsFd = Netns.openCurrent();
            return new HostNetwork(owner, journal, channel, inode, nsFd);
        }
        catch (final IOException ex)
        {
            cleanUpFailedOpen(journal, channel, nsFd);
            throw new UncheckedIOException("cannot create the undo journal " + journal + " (" +
                IoMessages.describe(ex) + ")" + (ex instanceof AccessDeniedException ?
                "; changing the host network needs root, or CAP_NET_ADMIN and write access to " + dir : ""), ex);
        }
        catch (final RuntimeException | Error ex)
        {
            cleanUpFailedOpen(journal, channel, nsFd);
            throw ex;
        }
    }

    /**
     * Undoes, in the calling thread's network namespace, the changes journalled by a process with this
     * {@code owner} that died without undoing them; for startup and for a {@code natgw cleanup} command.
     *
     * @return one line per step: the undo command and how it went; empty if there was nothing to undo.
     * @throws IllegalStateException if the journal belongs to a running process.
     */
    public static List<String> recoverStale(final String owner)
    {
        return recoverStale(owner, DEFAULT_JOURNAL_DIR);
    }

    static List<String> recoverStale(final String owner, final Path dir)
    {
        requireOwner(owner);
        final Path journal = journalPath(dir, owner, Netns.currentInode());
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

    public String owner()
    {
        return owner;
    }

    /** The journal file. */
    public Path journal()
    {
        return journal;
    }

    /**
     * {@code ip route add CIDR dev DEV [table TABLE]}.
     *
     * @param table routing table id; 0 means the main table.
     */
    public synchronized void addRoute(final String cidr, final String dev, final int table)
    {
        requireCidr(cidr);
        requireDevice(dev);
        final List<String> args = new ArrayList<>(List.of(cidr, "dev", dev));
        if (table < 0)
        {
            throw new IllegalArgumentException("routing table " + table + " < 0");
        }
        if (table != 0)
        {
            args.addAll(List.of("table", Integer.toString(table)));
        }
        applyIp(concat(List.of("route", "add"), args), concat(List.of("route", "del"), args));
    }

    /**
     * {@code ip route add blackhole CIDR table TABLE metric METRIC}: what {@code table} routes to {@code cidr} and no
     * route of a lower metric takes is dropped. Behind a TUN's route of the same prefix, it takes over the moment
     * the TUN is gone (the kernel removes a device's routes with it), so steered traffic is dropped rather than
     * routed on untranslated while no gateway holds the TUN.
     */
    public synchronized void addBlackholeRoute(final String cidr, final int table, final long metric)
    {
        requireCidr(cidr);
        if (table <= 0)
        {
            throw new IllegalArgumentException("routing table " + table + ": a blackhole belongs in its own table, not main");
        }
        final List<String> args = List.of("blackhole", cidr, "table", Integer.toString(table), "metric", Long.toString(metric));
        applyIp(concat(List.of("route", "add"), args), concat(List.of("route", "del"), args));
    }

    /**
     * {@code ip rule add iif IIF table TABLE priority PRIORITY}: packets arriving on {@code iif} are routed
     * by {@code table}. IPv4.
     *
     * @param table    routing table id; 0 means the main table.
     * @param priority rule priority, 1 or more (0 is the kernel's rule for the local table).
     */
    public synchronized void addRule(final String iif, final int table, final int priority)
    {
        requireDevice(iif);
        if (table < 0)
        {
            throw new IllegalArgumentException("routing table " + table + " < 0");
        }
        if (priority < 1)
        {
            throw new IllegalArgumentException("rule priority " + priority + " < 1");
        }
        final List<String> args = List.of(
            "iif", iif, "table", 0 == table ? "main" : Integer.toString(table), "priority", Integer.toString(priority));
        applyIp(concat(List.of("rule", "add"), args), concat(List.of("rule", "del"), args));
    }

    /**
     * {@code ip neigh add proxy IP dev DEV}: the host answers ARP (or NDP) for {@code ip} on {@code dev}, so
     * that the outside network sends the gateway traffic for an address it does not own. (For IPv4 the
     * kernel answers only where forwarding is enabled.)
     */
    public synchronized void addProxyNeighbour(final String ip, final String dev)
    {
        requireIp(ip);
        requireDevice(dev);
        final List<String> args = List.of("proxy", ip, "dev", dev);
        applyIp(concat(List.of("neigh", "add"), args), concat(List.of("neigh", "del"), args));
    }

    /**
     * Writes a network sysctl, remembering the old value to restore it.
     *
     * @param key {@code net.ipv4.ip_forward} style, or with slashes ({@code net/ipv4/conf/eth0.100/proxy_arp})
     *            when an interface name contains a dot.
     */
    public synchronized void setSysctl(final String key, final String value)
    {
        ensureOpen();
        final Path path = sysctlPath(key);
        final String old = inNetns(() -> readSysctl(path));
        final int id = journalStep(List.of("sysctl", PROC_SYS.relativize(path).toString(), old));
        try
        {
            inNetns(() ->
            {
                Files.write(path, value.getBytes(StandardCharsets.UTF_8), StandardOpenOption.WRITE);
                return null;
            });
        }
        catch (final RuntimeException ex)
        {
            journalVoid(id);
            final String why = ex instanceof UncheckedIOException ? IoMessages.describe((UncheckedIOException)ex) : ex.getMessage();
            throw new HostNetworkException("cannot set sysctl " + key + " = " + value + ": " + why, null, ex);
        }
        applied.add(new Step(id, List.of("sysctl", PROC_SYS.relativize(path).toString(), old)));
    }

    /**
     * {@code ip link set dev DEV txqueuelen QLEN}, restoring the old length on undo: the queue in front of a
     * TUN reader, which overflows (and drops) when the reader is kept off the CPU for a while.
     */
    public synchronized void setTxQueueLength(final String dev, final int qlen)
    {
        requireDevice(dev);
        if (qlen < 1 || qlen > 1_000_000)
        {
            throw new IllegalArgumentException("txqueuelen must be 1..1000000, got " + qlen);
        }
        final CommandResult show = inNetns(() -> Exec.ip(List.of("-o", "link", "show", "dev", dev)));
        if (!show.ok())
        {
            throw new HostNetworkException(show.describe(), show, null);
        }
        final java.util.regex.Matcher m = Pattern.compile("\\bqlen (\\d+)").matcher(show.stdout());
        final String old = m.find() ? m.group(1) : "500";
        applyIp(List.of("link", "set", "dev", dev, "txqueuelen", Integer.toString(qlen)),
            List.of("link", "set", "dev", dev, "txqueuelen", old));
    }

    /**
     * The interface whose connected subnet contains {@code ip} (the longest prefix wins), or null: where a
     * proxy-neighbour entry for {@code ip} is needed.
     */
    public synchronized String outsideInterfaceFor(final String ip)
    {
        requireIp(ip);
        final CommandResult result = inNetns(() -> Exec.ip(List.of("-o", "addr", "show")));
        if (!result.ok())
        {
            throw new HostNetworkException(result.describe(), result, null);
        }
        return interfaceContaining(result.stdout(), ip);
    }

    /**
     * The interfaces of the calling thread's network namespace, as {@code ip -o link show} lists them (a
     * {@code veth0@if5} as {@code veth0}): to check an interface named by a user before anything is changed.
     */
    public static List<String> interfaceNames()
    {
        final CommandResult result = Exec.ip(List.of("-o", "link", "show"));
        if (!result.ok())
        {
            throw new HostNetworkException(result.describe(), result, null);
        }
        return linkNames(result.stdout());
    }

    static List<String> linkNames(final String ipLinkOutput)
    {
        final List<String> names = new ArrayList<>();
        for (final String line : ipLinkOutput.split("\n"))
        {
            // "2: eth0: <BROADCAST,...> mtu 1500 ...", "7: go@if6: <...> ..."
            final String[] fields = line.trim().split("\\s+", 3);
            if (fields.length >= 2 && fields[1].endsWith(":"))
            {
                final String name = fields[1].substring(0, fields[1].length() - 1);
                final int at = name.indexOf('@');
                names.add(at < 0 ? name : name.substring(0, at));
            }
        }
        return names;
    }

    /**
     * Registers a JVM shutdown hook that calls {@link #undoAll()}; a normal {@link #undoAll()} removes it.
     *
     * @return this.
     */
    public synchronized HostNetwork undoOnShutdown()
    {
        ensureOpen();
        if (null == shutdownHook)
        {
            shutdownHook = new Thread(this::undoAll, "natgw-undo-" + owner);
            Runtime.getRuntime().addShutdownHook(shutdownHook);
        }
        return this;
    }

    /**
     * Undoes every change in reverse order, then releases the journal. A failed step is logged and the rest
     * still run; never throws. Effective once: later calls return the first call's result.
     *
     * @return true if every step was undone (or its object was already gone).
     */
    public synchronized boolean undoAll()
    {
        if (undone)
        {
            return cleanlyUndone;
        }
        undone = true;

        final Thread hook = shutdownHook;
        if (null != hook && Thread.currentThread() != hook)
        {
            try
            {
                Runtime.getRuntime().removeShutdownHook(hook);
            }
            catch (final IllegalStateException ignore)
            {
                // shutdown in progress: the hook will find undone == true
            }
        }

        boolean clean = true;
        for (int i = applied.size() - 1; i >= 0; i--)
        {
            final Step step = applied.get(i);
            try
            {
                clean &= !inNetns(() -> undo(step)).startsWith("failed");
            }
            catch (final RuntimeException ex)
            {
                clean = false;
                LOG.log(Level.WARNING, "cannot undo " + step, ex);
            }
        }
        applied.clear();

        try
        {
            deleteAndRelease(journal, channel);
        }
        catch (final IOException ex)
        {
            clean = false;
            LOG.log(Level.WARNING, "cannot delete journal " + journal, ex);
            closeQuietly(channel);
        }
        Native.libc().close(netnsFd);
        OPEN_JOURNALS.remove(journal);
        cleanlyUndone = clean;
        return clean;
    }

    /** {@link #undoAll()}. */
    public void close()
    {
        undoAll();
    }

    public String toString()
    {
        return "HostNetwork{" + owner + ", " + journal + "}";
    }

    private void applyIp(final List<String> doArgs, final List<String> undoArgs)
    {
        ensureOpen();
        final List<String> undo = concat(List.of("ip"), undoArgs);
        final int id = journalStep(undo);
        final CommandResult result;
        try
        {
            result = inNetns(() -> Exec.ip(doArgs));
        }
        catch (final RuntimeException ex)
        {
            journalVoid(id);
            throw ex;
        }
        if (!result.ok())
        {
            journalVoid(id);
            throw new HostNetworkException(result.describe(), result, null);
        }
        applied.add(new Step(id, undo));
    }

    private int journalStep(final List<String> undo)
    {
        final int id = nextStepId++;
        appendLine(concat(List.of("undo", Integer.toString(id)), undo));
        return id;
    }

    private void journalVoid(final int id)
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
            throw new UncheckedIOException("cannot write the undo journal " + journal + " (" + IoMessages.describe(ex) + ")", ex);
        }
    }

    private void ensureOpen()
    {
        if (undone)
        {
            throw new IllegalStateException("host network of '" + owner + "' was already undone");
        }
    }

    private <T> T inNetns(final Callable<T> task)
    {
        try
        {
            return Netns.currentInode() == netnsInode ? task.call() : Netns.call(netnsFd, owner, task);
        }
        catch (final RuntimeException ex)
        {
            throw ex;
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(IoMessages.describe(ex), ex);
        }
        catch (final Exception ex)
        {
            throw new IllegalStateException(ex.getMessage(), ex);
        }
    }

    /** Runs one undo step in the current thread's namespace; returns "undone", "already gone" or "failed: why". */
    private static String undo(final Step step)
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
            final Path path = PROC_SYS.resolve(undo.get(1));
            try
            {
                Files.write(path, undo.get(2).getBytes(StandardCharsets.UTF_8), StandardOpenOption.WRITE);
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
                report.add(step + ": " + undo(step));
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

    private static void cleanUpFailedOpen(final Path journal, final FileChannel channel, final int nsFd)
    {
        closeQuietly(channel);
        if (nsFd >= 0)
        {
            Native.libc().close(nsFd);
        }
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

    static String interfaceContaining(final String ipAddrOutput, final String ip)
    {
        final byte[] target = parseIp(ip);
        String best = null;
        int bestPrefix = -1;
        for (final String line : ipAddrOutput.split("\n"))
        {
            // "2: eth0    inet 192.0.2.1/24 brd 192.0.2.255 scope global eth0\       valid_lft forever ..."
            // "3: ppp0    inet 10.0.0.1 peer 10.0.0.2/32 scope global ppp0\ ..."
            final String[] tokens = line.trim().split("\\s+");
            if (tokens.length < 4 || !(tokens[2].equals("inet") || tokens[2].equals("inet6")))
            {
                continue;
            }
            String cidr = tokens[3];
            if (tokens.length > 5 && "peer".equals(tokens[4]))
            {
                cidr = tokens[5];
            }
            final int slash = cidr.indexOf('/');
            if (slash < 0)
            {
                continue;
            }
            final byte[] network;
            final int prefix;
            try
            {
                network = parseIp(cidr.substring(0, slash));
                prefix = Integer.parseInt(cidr.substring(slash + 1));
            }
            catch (final IllegalArgumentException ex)
            {
                continue;
            }
            if (network.length == target.length && prefix > bestPrefix && samePrefix(network, target, prefix))
            {
                final String dev = tokens[1];
                final int at = dev.indexOf('@');
                best = at < 0 ? dev : dev.substring(0, at);
                bestPrefix = prefix;
            }
        }
        return best;
    }

    private static boolean samePrefix(final byte[] a, final byte[] b, final int prefix)
    {
        final int bits = a.length * 8;
        if (prefix > bits)
        {
            return false;
        }
        final BigInteger mask = BigInteger.ONE.shiftLeft(bits).subtract(BigInteger.ONE)
            .shiftRight(bits - prefix).shiftLeft(bits - prefix);
        return new BigInteger(1, a).and(mask).equals(new BigInteger(1, b).and(mask));
    }

    private static byte[] parseIp(final String ip)
    {
        if (!IP_LITERAL.matcher(ip).matches())
        {
            throw new IllegalArgumentException("'" + ip + "' is not an IP address");
        }
        try
        {
            return InetAddress.getByName(ip).getAddress(); // a literal: no name lookup
        }
        catch (final UnknownHostException ex)
        {
            throw new IllegalArgumentException("'" + ip + "' is not an IP address", ex);
        }
    }

    private static void requireIp(final String ip)
    {
        parseIp(ip);
    }

    private static void requireCidr(final String cidr)
    {
        if (!CIDR.matcher(cidr).matches())
        {
            throw new IllegalArgumentException("'" + cidr + "' is not an address/prefix");
        }
        parseIp(cidr.indexOf('/') < 0 ? cidr : cidr.substring(0, cidr.indexOf('/')));
    }

    private static void requireDevice(final String dev)
    {
        try
        {
            LinuxTun.validateName(dev);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IllegalArgumentException(ex.getMessage().replace("TUN device name", "interface name"), ex);
        }
    }

    private static void requireOwner(final String owner)
    {
        if (null == owner || !OWNER.matcher(owner).matches())
        {
            throw new IllegalArgumentException("owner '" + owner + "' must be 1-64 of [A-Za-z0-9_.-]");
        }
    }

    private static Path sysctlPath(final String key)
    {
        if (!SYSCTL_KEY.matcher(key).matches() || key.contains(".."))
        {
            throw new IllegalArgumentException("sysctl '" + key + "' is not a network sysctl (net.*): " +
                "HostNetwork changes only per-namespace network settings");
        }
        return PROC_SYS.resolve(key.indexOf('/') >= 0 ? key : key.replace('.', '/'));
    }

    static String readSysctl(final Path path)
    {
        try (java.io.InputStream in = Files.newInputStream(path))
        {
            // not Files.readString: it reads as many bytes as the file's size says, and /proc/sys files say
            // 0 or 1 (readString gives "8" of proxy_delay's "80"), so a multi-digit value would be restored cut
            final String value = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return value.endsWith("\n") ? value.substring(0, value.length() - 1) : value;
        }
        catch (final NoSuchFileException ex)
        {
            // net/ipv4/conf/IFACE/..., net/ipv4/neigh/IFACE/...: the usual reason is a mistyped interface
            final Path relative = PROC_SYS.relativize(path);
            if (relative.getNameCount() == 5 && (relative.getName(2).toString().equals("conf") ||
                relative.getName(2).toString().equals("neigh")))
            {
                final String iface = relative.getName(3).toString();
                throw new HostNetworkException("there is no interface " + iface + " in this network namespace (no " +
                    path + ")", null, ex);
            }
            throw new HostNetworkException("there is no sysctl " + path + " in this kernel", null, ex);
        }
        catch (final IOException ex)
        {
            throw new HostNetworkException("cannot read sysctl " + IoMessages.describe(ex), null, ex);
        }
    }

    private static List<String> concat(final List<String> a, final List<String> b)
    {
        final List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    private static final class Step
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
