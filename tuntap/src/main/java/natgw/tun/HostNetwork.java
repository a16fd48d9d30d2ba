package natgw.tun;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import static natgw.tun.HostNetworkSyntax.PROC_SYS;
import static natgw.tun.HostNetworkSyntax.requireCidr;
import static natgw.tun.HostNetworkSyntax.requireDevice;
import static natgw.tun.HostNetworkSyntax.requireIp;
import static natgw.tun.HostNetworkSyntax.requireOwner;
import static natgw.tun.HostNetworkSyntax.sysctlPath;

/**
 * The routes, policy rules, proxy-neighbour entries and sysctls the gateway adds to the host, each undone on
 * exit, even after a SIGKILL.
 * <p>
 * Every change is first appended to an {@link UndoJournal}, {@code /run/natgw/<owner>@netns-<inode>.journal}, as
 * the command that undoes it, and only then applied (a change that fails is marked void). {@link #undoAll()}
 * undoes the changes in reverse order. If the process dies first, the journal stays behind and
 * {@link #recoverStale} (which {@link #open} runs, and a {@code natgw cleanup} command can run) undoes it.
 * Names and addresses are checked, and iproute2's output parsed, by {@link HostNetworkSyntax}.
 * <p>
 * Changes are made with iproute2's {@code ip} (not on the hot path) and sysctls by writing /proc/sys, in the
 * network namespace of the thread that called {@link #open}, whatever thread calls later (a JVM shutdown
 * hook runs on a thread of its own). Methods are synchronized; {@link #undoAll()} is effective once, and a
 * second caller (normal exit racing a shutdown hook) waits for the first to finish.
 */
public final class HostNetwork implements AutoCloseable
{
    public static final Path DEFAULT_JOURNAL_DIR = Path.of("/run/natgw");
    /** The longest txqueuelen {@link #setTxQueueLength} sets. */
    public static final int MAX_TX_QUEUE_LENGTH = 1_000_000;

    private static final System.Logger LOG = System.getLogger(HostNetwork.class.getName());

    private final String owner;
    private final UndoJournal journal;
    private final long netnsInode;
    private final int netnsFd;
    private final List<UndoJournal.Step> applied = new ArrayList<>();
    private boolean undone;
    private boolean cleanlyUndone;
    private Thread shutdownHook;

    private HostNetwork(final String owner, final UndoJournal journal, final long netnsInode, final int netnsFd)
    {
        this.owner = owner;
        this.journal = journal;
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
        final UndoJournal journal = UndoJournal.open(owner, dir, inode);
        try
        {
            return new HostNetwork(owner, journal, inode, Netns.openCurrent());
        }
        catch (final RuntimeException | Error ex)
        {
            journal.abandon();
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
        return UndoJournal.recoverStale(owner, dir, Netns.currentInode());
    }

    public String owner()
    {
        return owner;
    }

    /** The journal file. */
    public Path journal()
    {
        return journal.path();
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
     * {@code ip rule add iif IIF priority PRIORITY blackhole}: packets arriving on {@code iif} are dropped,
     * ahead of every rule with a larger priority. IPv4.
     */
    public synchronized void addBlackholeRule(final String iif, final int priority)
    {
        requireDevice(iif);
        if (priority < 1)
        {
            throw new IllegalArgumentException("rule priority " + priority + " < 1");
        }
        final List<String> args = List.of("iif", iif, "priority", Integer.toString(priority), "blackhole");
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
        final List<String> undo = List.of("sysctl", PROC_SYS.relativize(path).toString(), old);
        final int id = journal.step(undo);
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
            journal.voidStep(id);
            final String why = ex instanceof UncheckedIOException ? IoMessages.describe((UncheckedIOException)ex) : ex.getMessage();
            throw new HostNetworkException("cannot set sysctl " + key + " = " + value + ": " + why, null, ex);
        }
        applied.add(new UndoJournal.Step(id, undo));
    }

    /**
     * {@code ip link set dev DEV txqueuelen QLEN}, restoring the old length on undo: the queue in front of a
     * TUN reader, which overflows (and drops) when the reader is kept off the CPU for a while.
     */
    public synchronized void setTxQueueLength(final String dev, final int qlen)
    {
        requireDevice(dev);
        if (qlen < 1 || qlen > MAX_TX_QUEUE_LENGTH)
        {
            throw new IllegalArgumentException("txqueuelen must be 1.." + MAX_TX_QUEUE_LENGTH + ", got " + qlen);
        }
        final CommandResult show = inNetns(() -> Exec.ip(List.of("-o", "link", "show", "dev", dev)));
        if (!show.ok())
        {
            throw new HostNetworkException(show.describe(), show, null);
        }
        final String old = HostNetworkSyntax.txQueueLength(show.stdout());
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
        return HostNetworkSyntax.interfaceContaining(result.stdout(), ip);
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
        return HostNetworkSyntax.linkNames(result.stdout());
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
            final UndoJournal.Step step = applied.get(i);
            try
            {
                clean &= !inNetns(() -> UndoJournal.replay(step)).startsWith("failed");
            }
            catch (final RuntimeException ex)
            {
                clean = false;
                LOG.log(Level.WARNING, "cannot undo " + step, ex);
            }
        }
        applied.clear();

        clean &= journal.release();
        Native.libc().close(netnsFd);
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
        return "HostNetwork{" + owner + ", " + journal.path() + "}";
    }

    private void applyIp(final List<String> doArgs, final List<String> undoArgs)
    {
        ensureOpen();
        final List<String> undo = concat(List.of("ip"), undoArgs);
        final int id = journal.step(undo);
        final CommandResult result;
        try
        {
            result = inNetns(() -> Exec.ip(doArgs));
        }
        catch (final RuntimeException ex)
        {
            journal.voidStep(id);
            throw ex;
        }
        if (!result.ok())
        {
            journal.voidStep(id);
            throw new HostNetworkException(result.describe(), result, null);
        }
        applied.add(new UndoJournal.Step(id, undo));
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
}
