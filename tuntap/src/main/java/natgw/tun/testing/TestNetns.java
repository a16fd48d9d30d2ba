package natgw.tun.testing;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import natgw.tun.Capabilities;
import natgw.tun.CommandResult;
import natgw.tun.Exec;
import natgw.tun.LinuxTun;
import natgw.tun.Native;
import natgw.tun.Netns;

/**
 * A throw-away network namespace for tests that touch the kernel, so that they never change the root
 * namespace. Use it with try-with-resources; {@link #close()} deletes the namespace and everything in it.
 * <pre>{@code
 * TestNetns.ensureAvailable();                      // in @BeforeAll: fails loudly if not root
 * try (TestNetns ns = TestNetns.create();
 *      LinuxTun tun = ns.call(() -> LinuxTun.open("ngwt0", 2, 1400)))
 * {
 *     ns.ip("addr", "add", "10.99.0.1/24", "dev", "ngwt0");
 *     ns.call(() -> ...);                           // sockets made here live in the namespace
 * }
 * }</pre>
 * Names are {@code ngwt-<pid>-<n>-<random>}. A namespace whose creating JVM died without closing it
 * (SIGKILL) is deleted by the next {@link #create()} in any JVM; a JVM that exits normally deletes its
 * namespaces from a shutdown hook. Shipped in {@code src/main} (like {@link ChannelTun}) so every module's
 * root tests can use it; it is not used by the gateway itself.
 */
public final class TestNetns implements AutoCloseable
{
    /** Every test namespace name starts with this; nothing else is ever created or deleted. */
    public static final String PREFIX = "ngwt-";

    private static final Path NETNS_DIR = Path.of("/run/netns");
    private static final Pattern OWNED_NAME = Pattern.compile(Pattern.quote(PREFIX) + "(\\d+)-\\d+-[0-9a-f]+");
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final Set<TestNetns> OPEN = ConcurrentHashMap.newKeySet();
    private static volatile boolean available;

    static
    {
        Runtime.getRuntime().addShutdownHook(new Thread(
            () -> OPEN.forEach(TestNetns::close), "ngwt-netns-cleanup"));
    }

    private final String name;
    private final int fd;
    private volatile boolean closed;

    private TestNetns(final String name, final int fd)
    {
        this.name = name;
        this.fd = fd;
    }

    /**
     * Fails with one message saying what is missing (root or CAP_NET_ADMIN + CAP_SYS_ADMIN, /dev/net/tun,
     * iproute2, libc binding) so that a root test on an unfit machine fails loudly instead of skipping.
     */
    public static void ensureAvailable()
    {
        if (available)
        {
            return;
        }
        final StringBuilder missing = new StringBuilder();
        try
        {
            Native.ensureAvailable();
        }
        catch (final IllegalStateException ex)
        {
            missing.append("\n - ").append(ex.getMessage());
        }
        final long caps = Capabilities.effective();
        if ((caps & (1L << Capabilities.CAP_NET_ADMIN)) == 0 || (caps & (1L << Capabilities.CAP_SYS_ADMIN)) == 0)
        {
            missing.append("\n - needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN); this JVM has CapEff=")
                .append(Long.toHexString(caps));
        }
        if (!Files.exists(Path.of(LinuxTun.CLONE_DEVICE)))
        {
            missing.append("\n - ").append(LinuxTun.CLONE_DEVICE)
                .append(" is missing (modprobe tun, or --device /dev/net/tun in a container)");
        }
        try
        {
            final CommandResult version = Exec.ip(List.of("-V"));
            if (!version.ok())
            {
                missing.append("\n - iproute2 does not run: ").append(version.describe());
            }
        }
        catch (final RuntimeException ex)
        {
            missing.append("\n - ").append(ex.getMessage());
        }
        if (missing.length() > 0)
        {
            throw new IllegalStateException("tests tagged \"root\" cannot run here:" + missing +
                "\nRun them as root on Linux (CI does), or exclude them: mvn test -Dsurefire.excludedGroups=root");
        }
        available = true;
    }

    /**
     * Creates a new, empty namespace with its loopback up, first deleting any left by dead JVMs.
     *
     * @throws IllegalStateException from {@link #ensureAvailable()} on a machine that cannot run root tests.
     */
    public static TestNetns create()
    {
        ensureAvailable();
        sweepStale();
        final String name = PREFIX + ProcessHandle.current().pid() + "-" + COUNTER.incrementAndGet() + "-" +
            Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0x10000));
        check(Exec.ip(List.of("netns", "add", name)));
        int fd = -1;
        try
        {
            fd = Netns.openPath(NETNS_DIR.resolve(name).toString());
            final TestNetns ns = new TestNetns(name, fd);
            OPEN.add(ns);
            ns.ip("link", "set", "lo", "up");
            return ns;
        }
        catch (final RuntimeException ex)
        {
            if (fd >= 0)
            {
                Native.libc().close(fd);
            }
            Exec.ip(List.of("netns", "del", name));
            throw ex;
        }
    }

    /** {@link #create()}, then {@link #disableIpv6()}: for tests that count what comes out of a TUN. */
    public static TestNetns createIpv4Only()
    {
        final TestNetns ns = create();
        try
        {
            return ns.disableIpv6();
        }
        catch (final Exception ex)
        {
            ns.close();
            throw new IllegalStateException("cannot disable IPv6 in " + ns.name() + ": " + ex, ex);
        }
    }

    /** Deletes namespaces named by this class whose creating process no longer runs; returns how many. */
    public static int sweepStale()
    {
        int deleted = 0;
        if (!Files.isDirectory(NETNS_DIR))
        {
            return 0;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(NETNS_DIR, PREFIX + "*"))
        {
            for (final Path entry : entries)
            {
                final String name = entry.getFileName().toString();
                final Matcher m = OWNED_NAME.matcher(name);
                if (m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).isEmpty() &&
                    Exec.ip(List.of("netns", "del", name)).ok())
                {
                    deleted++;
                }
            }
        }
        catch (final IOException ex)
        {
            // best effort: a sweep never fails a test
        }
        return deleted;
    }

    public String name()
    {
        return name;
    }

    /**
     * {@code ip -n NAME args...}; returns its standard output.
     *
     * @throws IllegalStateException with the command and its stderr if it fails.
     */
    public String ip(final String... args)
    {
        final String[] command = new String[args.length + 2];
        command[0] = "-n";
        command[1] = name;
        System.arraycopy(args, 0, command, 2, args.length);
        return check(Exec.ip(Arrays.asList(command))).stdout();
    }

    /** Runs {@code command} in the namespace ({@code ip netns exec}) and returns how it ended; never throws for a failure. */
    public CommandResult exec(final String... command)
    {
        final String[] full = new String[command.length + 3];
        full[0] = "netns";
        full[1] = "exec";
        full[2] = name;
        System.arraycopy(command, 0, full, 3, command.length);
        return Exec.ip(Arrays.asList(full));
    }

    /** A ProcessBuilder for {@code command} run in the namespace, for a long-running child the test controls. */
    public ProcessBuilder processBuilder(final String... command)
    {
        final String[] full = new String[command.length + 4];
        full[0] = Exec.ipBinary();
        full[1] = "netns";
        full[2] = "exec";
        full[3] = name;
        System.arraycopy(command, 0, full, 4, command.length);
        return new ProcessBuilder(full);
    }

    /**
     * Runs {@code task} on a thread inside the namespace and returns its result. Sockets, TUN devices and
     * child processes created by the task belong to the namespace and stay usable from any thread.
     */
    public <T> T call(final Callable<T> task) throws Exception
    {
        if (closed)
        {
            throw new IllegalStateException("namespace " + name + " is closed");
        }
        return Netns.call(fd, name, task);
    }

    /** {@link #call} for a task without a result. */
    public void run(final ThrowingRunnable task) throws Exception
    {
        call(() ->
        {
            task.run();
            return null;
        });
    }

    /**
     * Turns IPv6 off in the namespace (all and default interfaces), so that a new link does not send its own
     * ICMPv6 (router solicitations, MLD reports) into a TUN whose traffic a test counts.
     *
     * @return this.
     */
    public TestNetns disableIpv6() throws Exception
    {
        run(() ->
        {
            Files.writeString(Path.of("/proc/sys/net/ipv6/conf/all/disable_ipv6"), "1");
            Files.writeString(Path.of("/proc/sys/net/ipv6/conf/default/disable_ipv6"), "1");
        });
        return this;
    }

    /** Inode of the namespace, as {@code stat -L -c %i /run/netns/NAME} shows it. */
    public long inode() throws Exception
    {
        return call(Netns::currentInode);
    }

    /** Deletes the namespace (its devices go with it once nothing holds it). Idempotent. */
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        OPEN.remove(this);
        Native.libc().close(fd);
        final CommandResult result = Exec.ip(List.of("netns", "del", name));
        if (!result.ok() && Files.exists(NETNS_DIR.resolve(name)))
        {
            throw new IllegalStateException("cannot delete test namespace: " + result.describe());
        }
    }

    public String toString()
    {
        return name;
    }

    /** A task that may throw. */
    @FunctionalInterface
    public interface ThrowingRunnable
    {
        void run() throws Exception;
    }

    private static CommandResult check(final CommandResult result)
    {
        if (!result.ok())
        {
            throw new IllegalStateException(result.describe());
        }
        return result;
    }
}
