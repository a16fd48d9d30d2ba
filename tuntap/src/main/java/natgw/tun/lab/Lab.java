package natgw.tun.lab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Pattern;

import natgw.tun.CommandResult;
import natgw.tun.Exec;

/**
 * The network-namespace lab: three namespaces joined by two veth pairs, created directly inside the
 * namespaces so nothing ever lives in the root namespace.
 *
 * <pre>
 *   P-client                    P-gw                              P-server
 *   c0 10.77.1.2/24  ---------  gi 10.77.1.1/24
 *      10.77.1.3..(K+1)         go 10.77.2.1/24  ---------------  s0 10.77.2.2/24
 *   default via 10.77.1.1       ip_forward=1                      no default route, no route
 *                               (natgw pool 10.77.2.100)          back to 10.77.1.0/24
 *                                                                 DNAT scenarios: backends
 *   service VIP 10.77.3.10: no interface holds it; the clients'     10.77.2.11, .12, ... on s0
 *   default route takes it to the gateway, where the DNAT under test maps it to the backends
 * </pre>
 *
 * The server cannot reach the client network: without NAT in the gateway, replies cannot return, so any
 * working connection proves translation. Every namespace name starts with the prefix ({@code ngw} by
 * default), so labs with different prefixes run side by side and {@link #down(String)} finds everything.
 *
 * <pre>{@code
 * try (Lab lab = Lab.up("ngwt1a2b", 4))
 * {
 *     lab.exec(Role.CLIENT, "ping", "-c1", Lab.GW_INSIDE_ADDR).orThrow();
 *     LabProcess server = lab.start(Role.SERVER, List.of("iperf3", "-s"), null, null);
 * } // processes stopped, namespaces removed, also when the test fails
 * }</pre>
 *
 * A JVM shutdown hook tears down every lab still open, so Ctrl-C on a benchmark leaves nothing behind.
 */
public final class Lab implements AutoCloseable
{
    public static final String DEFAULT_PREFIX = "ngw";
    public static final int DEFAULT_CLIENTS = 40;
    public static final int MAX_CLIENTS = 200;

    public static final String INSIDE_CIDR = "10.77.1.0/24";
    public static final String OUTSIDE_CIDR = "10.77.2.0/24";
    public static final String CLIENT_IF = "c0";
    public static final String GW_INSIDE_IF = "gi";
    public static final String GW_OUTSIDE_IF = "go";
    public static final String SERVER_IF = "s0";
    public static final String GW_INSIDE_ADDR = "10.77.1.1";
    public static final String GW_OUTSIDE_ADDR = "10.77.2.1";
    public static final String SERVER_ADDR = "10.77.2.2";
    /** The natgw SNAT pool in the lab: on the outside subnet, natgw answers ARP for it with a proxy entry. */
    public static final String POOL_ADDR = "10.77.2.100";
    /** The DNAT scenarios' service address: held by no interface, reached through the gateway's DNAT only. */
    public static final String VIP_ADDR = "10.77.3.10";
    /** Backends of the DNAT scenarios: 10.77.2.11 .. 10.77.2.(10+MAX_BACKENDS) on the server's s0. */
    public static final int MAX_BACKENDS = 16;
    /** The TUN device natgw creates in the gateway namespace. */
    public static final String TUN_NAME = "ngw0";

    private static final Pattern PREFIX = Pattern.compile("[a-z][a-z0-9]{0,11}");
    private static final Set<Lab> OPEN = Collections.synchronizedSet(new LinkedHashSet<>());
    private static final Thread SHUTDOWN_HOOK = new Thread(Lab::closeAllOpen, "lab-teardown");

    static
    {
        Runtime.getRuntime().addShutdownHook(SHUTDOWN_HOOK);
    }

    private final String prefix;
    private final int clients;
    private volatile boolean owned;
    private final List<LabProcess> processes = Collections.synchronizedList(new ArrayList<>());
    private volatile boolean closed;

    private Lab(final String prefix, final int clients, final boolean owned)
    {
        this.prefix = prefix;
        this.clients = clients;
        this.owned = owned;
    }

    /**
     * Builds the lab. Refuses when a namespace with this prefix already exists (another run is using it, or
     * one was left behind: remove it with {@link #down(String)}).
     */
    public static Lab up(final String prefix, final int clients)
    {
        return up(prefix, clients, false);
    }

    /** Builds the lab; with {@code rebuild}, an existing lab with the same prefix is removed first. */
    public static Lab up(final String prefix, final int clients, final boolean rebuild)
    {
        checkPrefix(prefix);
        if (clients < 1 || clients > MAX_CLIENTS)
        {
            throw new IllegalArgumentException("--clients must be 1.." + MAX_CLIENTS + ", not " + clients);
        }
        Privileges.requireNamespaceAdmin("the namespace lab");
        Tools.require(List.of("ip"), true);
        final List<String> existing = existingNamespaces(prefix);
        if (!existing.isEmpty())
        {
            if (!rebuild)
            {
                throw new IllegalStateException("lab '" + prefix + "' already exists (" + String.join(", ", existing) +
                    "): remove it with 'natgw lab down --prefix " + prefix + "' or rebuild it with " +
                    "'natgw lab up --rebuild'");
            }
            down(prefix);
        }
        final Lab lab = new Lab(prefix, clients, true);
        OPEN.add(lab);
        try
        {
            lab.build();
        }
        catch (final RuntimeException e)
        {
            lab.close();
            throw e;
        }
        return lab;
    }

    /**
     * A handle on an existing lab (built by another process, e.g. {@code natgw lab up}); closing it stops the
     * processes started through it but leaves the namespaces.
     */
    public static Lab attach(final String prefix)
    {
        checkPrefix(prefix);
        final List<String> existing = existingNamespaces(prefix);
        if (existing.size() != Role.values().length)
        {
            throw new IllegalStateException("lab '" + prefix + "' is not up" +
                (existing.isEmpty() ? "" : " (only " + String.join(", ", existing) + " exist)") +
                ": start it with 'natgw lab up --prefix " + prefix + "'");
        }
        final int clients = countClientAddresses(prefix);
        return new Lab(prefix, clients, false);
    }

    private void build()
    {
        for (final Role role : Role.values())
        {
            Exec.check("ip", "netns", "add", ns(role));
        }
        final String client = ns(Role.CLIENT);
        final String gw = ns(Role.GW);
        final String server = ns(Role.SERVER);
        Exec.check("ip", "link", "add", CLIENT_IF, "netns", client, "type", "veth",
            "peer", "name", GW_INSIDE_IF, "netns", gw);
        Exec.check("ip", "link", "add", GW_OUTSIDE_IF, "netns", gw, "type", "veth",
            "peer", "name", SERVER_IF, "netns", server);

        final StringBuilder clientBatch = new StringBuilder("link set lo up\n");
        for (int i = 0; i < clients; i++)
        {
            clientBatch.append("addr add ").append(clientAddress(i)).append("/24 dev ").append(CLIENT_IF).append('\n');
        }
        clientBatch.append("link set ").append(CLIENT_IF).append(" up\n")
            .append("route add default via ").append(GW_INSIDE_ADDR).append('\n');
        batch(client, clientBatch.toString());

        batch(gw, "link set lo up\n" +
            "addr add " + GW_INSIDE_ADDR + "/24 dev " + GW_INSIDE_IF + "\n" +
            "addr add " + GW_OUTSIDE_ADDR + "/24 dev " + GW_OUTSIDE_IF + "\n" +
            "link set " + GW_INSIDE_IF + " up\n" +
            "link set " + GW_OUTSIDE_IF + " up\n");
        batch(server, "link set lo up\n" +
            "addr add " + SERVER_ADDR + "/24 dev " + SERVER_IF + "\n" +
            "link set " + SERVER_IF + " up\n");

        // IPv6 off: no router solicitations or DAD in captures; forwarding on in the gateway only.
        for (final Role role : Role.values())
        {
            final String sysctl = "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; " +
                "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6" +
                (role == Role.GW ? "; echo 1 > /proc/sys/net/ipv4/ip_forward" : "");
            exec(role, "sh", "-c", sysctl).orThrow();
        }
        awaitLinksUp();
    }

    /** veth operstate turns UP asynchronously (linkwatch); wait so the first packet of a test is not lost. */
    private void awaitLinksUp()
    {
        final long deadlineNs = System.nanoTime() + 30_000_000_000L;
        while (true)
        {
            final boolean up = linkUp(Role.CLIENT, CLIENT_IF) && linkUp(Role.GW, GW_INSIDE_IF) &&
                linkUp(Role.GW, GW_OUTSIDE_IF) && linkUp(Role.SERVER, SERVER_IF);
            if (up)
            {
                return;
            }
            if (System.nanoTime() > deadlineNs)
            {
                throw new IllegalStateException("lab '" + prefix + "': veth links not up after 30 s");
            }
            sleepMs(20);
        }
    }

    private boolean linkUp(final Role role, final String itf)
    {
        return Exec.run("ip", "-n", ns(role), "-o", "link", "show", "dev", itf).stdout().contains("state UP");
    }

    private static void batch(final String netns, final String commands)
    {
        Exec.run(List.of("ip", "-n", netns, "-batch", "-"), commands, 60_000).orThrow();
    }

    /**
     * Removes every namespace of the lab with this prefix, after stopping the processes still running in
     * them (SIGTERM, then SIGKILL). Idempotent.
     *
     * @return the namespaces removed.
     */
    public static List<String> down(final String prefix)
    {
        checkPrefix(prefix);
        final List<String> existing = existingNamespaces(prefix);
        for (final String netns : existing)
        {
            killAll(netns);
        }
        for (final String netns : existing)
        {
            removeStateFiles(netns);
            final CommandResult result = Exec.run("ip", "netns", "del", netns);
            if (!result.ok() && namespaces().contains(netns))
            {
                throw new Exec.CommandFailedException(result);
            }
        }
        return existing;
    }

    /**
     * Removes the natgw state files of a namespace about to go (named after its inode, they would otherwise
     * stay in memory until the machine restarts; a namespace made later with the same inode starts them afresh).
     */
    private static void removeStateFiles(final String netns)
    {
        final Path stateDir = natgw.tun.StateFileLocation.directory();
        try
        {
            final long inode = (Long)Files.getAttribute(Path.of("/run/netns", netns), "unix:ino");
            if (Files.isDirectory(stateDir))
            {
                try (DirectoryStream<Path> files = Files.newDirectoryStream(stateDir, "*@netns-" + inode + ".state"))
                {
                    for (final Path file : files)
                    {
                        Files.deleteIfExists(file);
                    }
                }
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot remove the natgw state files of " + netns, ex);
        }
    }

    private static void killAll(final String netns)
    {
        for (final String signal : List.of("TERM", "KILL"))
        {
            final List<String> pids = pids(netns);
            if (pids.isEmpty())
            {
                return;
            }
            final List<String> kill = new ArrayList<>(List.of("kill", "-" + signal));
            kill.addAll(pids);
            Exec.run(kill);
            final long deadlineNs = System.nanoTime() + 3_000_000_000L;
            while (!pids(netns).isEmpty() && System.nanoTime() < deadlineNs)
            {
                sleepMs(50);
            }
        }
    }

    /** Process ids running in the namespace ({@code ip netns pids}). */
    public static List<String> pids(final String netns)
    {
        final CommandResult result = Exec.run("ip", "netns", "pids", netns);
        final List<String> pids = new ArrayList<>();
        if (result.ok())
        {
            for (final String line : result.stdout().split("\n"))
            {
                if (!line.isBlank())
                {
                    pids.add(line.strip());
                }
            }
        }
        return pids;
    }

    /** All network namespace names ({@code ip netns list}). */
    public static List<String> namespaces()
    {
        final CommandResult result = Exec.run("ip", "netns", "list");
        final List<String> names = new ArrayList<>();
        for (final String line : result.stdout().split("\n"))
        {
            final String name = line.strip().split("\\s+")[0];
            if (!name.isEmpty())
            {
                names.add(name);
            }
        }
        return names;
    }

    /** The namespaces of this prefix's lab that exist now, in role order. */
    public static List<String> existingNamespaces(final String prefix)
    {
        final List<String> all = namespaces();
        final List<String> existing = new ArrayList<>();
        for (final Role role : Role.values())
        {
            if (all.contains(nsName(prefix, role)))
            {
                existing.add(nsName(prefix, role));
            }
        }
        return existing;
    }

    public static boolean exists(final String prefix)
    {
        return !existingNamespaces(prefix).isEmpty();
    }

    public static String nsName(final String prefix, final Role role)
    {
        return prefix + "-" + role.label();
    }

    /** The i-th client address (0-based): 10.77.1.2, 10.77.1.3, ... */
    public static String clientAddress(final int i)
    {
        return "10.77.1." + (2 + i);
    }

    /** The i-th backend address (0-based) of the DNAT scenarios: 10.77.2.11, 10.77.2.12, ... */
    public static String backendAddress(final int i)
    {
        if (i < 0 || i >= MAX_BACKENDS)
        {
            throw new IllegalArgumentException("backend index must be 0.." + (MAX_BACKENDS - 1) + ", not " + i);
        }
        return "10.77.2." + (11 + i);
    }

    public static void checkPrefix(final String prefix)
    {
        if (prefix == null || !PREFIX.matcher(prefix).matches())
        {
            throw new IllegalArgumentException("bad lab prefix '" + prefix + "': 1-12 characters, a-z then a-z0-9");
        }
    }

    private static int countClientAddresses(final String prefix)
    {
        final CommandResult result = Exec.run("ip", "-n", nsName(prefix, Role.CLIENT), "-4", "-o", "addr", "show",
            "dev", CLIENT_IF);
        int count = 0;
        for (final String line : result.stdout().split("\n"))
        {
            if (line.contains(" inet 10.77.1."))
            {
                count++;
            }
        }
        return count;
    }

    public String prefix()
    {
        return prefix;
    }

    public int clients()
    {
        return clients;
    }

    public String ns(final Role role)
    {
        return nsName(prefix, role);
    }

    public List<String> clientAddresses()
    {
        final List<String> addresses = new ArrayList<>(clients);
        for (int i = 0; i < clients; i++)
        {
            addresses.add(clientAddress(i));
        }
        return addresses;
    }

    /** The command line that runs {@code command} inside the role's namespace. */
    public List<String> inNamespace(final Role role, final List<String> command)
    {
        final List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns(role)));
        cmd.addAll(command);
        return cmd;
    }

    /** Runs a short command in the namespace and captures its output (60 s timeout). */
    public CommandResult exec(final Role role, final String... command)
    {
        return exec(role, List.of(command));
    }

    public CommandResult exec(final Role role, final List<String> command)
    {
        return Exec.run(inNamespace(role, command), null, 60_000);
    }

    /** Runs a command in the namespace with this process's stdin, stdout and stderr; returns its exit code. */
    public int execInherited(final Role role, final List<String> command) throws InterruptedException
    {
        try
        {
            return new ProcessBuilder(inNamespace(role, command)).inheritIO().start().waitFor();
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot run ip netns exec: " + e.getMessage(), e);
        }
    }

    /**
     * Starts a background process in the namespace. It is stopped when the lab closes (or earlier with
     * {@link LabProcess#close()}).
     *
     * @param logFile  copy of its merged stdout/stderr, or null.
     * @param listener called with each output line on the reader thread, or null.
     */
    public LabProcess start(final Role role, final List<String> command, final Path logFile,
        final Consumer<String> listener)
    {
        if (closed)
        {
            throw new IllegalStateException("lab '" + prefix + "' is closed");
        }
        try
        {
            final Process process = new ProcessBuilder(inNamespace(role, command)).redirectErrorStream(true).start();
            final String name = role.label() + ":" + Path.of(command.get(0)).getFileName();
            final LabProcess labProcess = new LabProcess(name, process, logFile, listener);
            processes.add(labProcess);
            return labProcess;
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot start " + command.get(0) + " in " + ns(role) + ": " +
                e.getMessage(), e);
        }
    }

    public LabProcess start(final Role role, final List<String> command)
    {
        return start(role, command, null, null);
    }

    /**
     * Ends the TCP connections of the client's and the server's namespaces ({@code ss -K}, Linux's sock_destroy;
     * listeners and TIME_WAIT, which sends nothing, stay): a connection an earlier user of the lab left, such as a
     * killed client's socket still retransmitting its FIN, then never reaches the next gateway as traffic of its own.
     *
     * @throws IllegalStateException if a connection is left (ss skips what the kernel cannot destroy: a kernel
     *                               without CONFIG_INET_DIAG_DESTROY).
     */
    public void endConnections()
    {
        for (final Role role : List.of(Role.CLIENT, Role.SERVER))
        {
            final CommandResult ended = exec(role, "ss", "-K", "-tnH", "state", "connected", "exclude", "time-wait");
            final CommandResult left = exec(role, "ss", "-tnH", "state", "connected", "exclude", "time-wait");
            if (!ended.ok() || !left.ok() || !left.stdout().isBlank())
            {
                throw new IllegalStateException("cannot end the TCP connections in " + ns(role) +
                    " (ss -K; a kernel without CONFIG_INET_DIAG_DESTROY?): " + ended + "; left: " + left.stdout());
            }
        }
    }

    /** One TcpExt counter of the role's namespace (its /proc/net/netstat); -1 where its kernel does not count it. */
    public long tcpExt(final Role role, final String name)
    {
        return tcpExt(exec(role, "cat", "/proc/net/netstat").orThrow().stdout(), name);
    }

    /** One TcpExt counter of a /proc/net/netstat text (a header line of names, then one of values); -1 if absent. */
    public static long tcpExt(final String netstat, final String name)
    {
        final List<String> lines = netstat.lines().filter(line -> line.startsWith("TcpExt:")).toList();
        if (lines.size() < 2)
        {
            throw new IllegalStateException("no TcpExt lines in /proc/net/netstat");
        }
        final String[] names = lines.get(0).trim().split("\\s+");
        final String[] values = lines.get(1).trim().split("\\s+");
        for (int i = 1; i < names.length && i < values.length; i++)
        {
            if (names[i].equals(name))
            {
                return Long.parseLong(values[i]);
            }
        }
        return -1;
    }

    /** Stops every process started through this lab; if this lab was built here, removes its namespaces. */
    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        final List<LabProcess> started;
        synchronized (processes)
        {
            started = new ArrayList<>(processes);
        }
        for (final LabProcess process : started)
        {
            process.stop(2_000);
        }
        if (owned)
        {
            down(prefix);
        }
        OPEN.remove(this);
    }

    /**
     * Hands the namespaces over to whoever comes next ({@code natgw lab up} exits and leaves the lab up):
     * closing this handle, or the JVM exiting, no longer removes them.
     */
    public void detach()
    {
        owned = false;
        OPEN.remove(this);
    }

    private static void closeAllOpen()
    {
        final List<Lab> labs;
        synchronized (OPEN)
        {
            labs = new ArrayList<>(OPEN);
        }
        for (final Lab lab : labs)
        {
            try
            {
                lab.close();
            }
            catch (final RuntimeException e)
            {
                System.err.println("natgw: lab '" + lab.prefix + "' teardown: " + e.getMessage());
            }
        }
    }

    static void sleepMs(final long ms)
    {
        try
        {
            Thread.sleep(ms);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString()
    {
        return "Lab(" + prefix + ", " + clients + " clients)";
    }
}
