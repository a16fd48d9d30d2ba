package natgw.gateway;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import natgw.gateway.GatewayEndToEndIT.Gateways;
import natgw.tun.CommandResult;
import natgw.tun.Exec;
import natgw.tun.lab.Lab;
import natgw.tun.lab.LabProcess;
import natgw.tun.lab.Role;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The namespace lab of the service end-to-end tests: {@link Lab}'s client, gateway and server namespaces, plus
 * backend namespaces {@code PREFIX-b1..bN}, each joined to the gateway by a veth pair.
 * <pre>
 *   PREFIX-client 10.77.1.x --- gi | PREFIX-gw (natgw, VIPs 10.96.0.x routed into its TUN) | go --- PREFIX-server 10.77.2.2
 *                                  | bN 10.77.(10+N).1/24 ------------- eth0 10.77.(10+N).2/24  PREFIX-bN
 *                                                                      default via 10.77.(10+N).1
 * </pre>
 * Backends answer with their name and the source address they saw ({@link ServicePeers}). Everything is removed
 * on {@link #close()}, also when a test fails, and by a shutdown hook if the JVM is stopped mid-test.
 */
final class ServiceLab implements AutoCloseable
{
    final String prefix;
    final Lab lab;
    private final int backends;
    private final Map<Integer, List<LabProcess>> backendProcesses = new HashMap<>();
    private final Thread shutdownHook;
    private LabProcess natgw;
    private boolean closed;

    private ServiceLab(final String prefix, final Lab lab, final int backends)
    {
        this.prefix = prefix;
        this.lab = lab;
        this.backends = backends;
        this.shutdownHook = new Thread(() -> removeBackendNamespaces(prefix), "service-lab-teardown");
    }

    /** Fails loudly unless root with /dev/net/tun (never skips). */
    static void requireRoot() throws Exception
    {
        Gateways.requireRoot();
    }

    /** Builds the lab: {@code clients} client addresses, {@code backends} backend namespaces. Fails loudly without root. */
    static ServiceLab up(final String prefixStart, final int clients, final int backends) throws Exception
    {
        Gateways.requireRoot();
        final String prefix = prefixStart + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xFFFF));
        final Lab lab = Lab.up(prefix, clients);
        final ServiceLab serviceLab = new ServiceLab(prefix, lab, backends);
        Runtime.getRuntime().addShutdownHook(serviceLab.shutdownHook);
        try
        {
            for (int n = 1; n <= backends; n++)
            {
                serviceLab.addBackendNamespace(n);
            }
        }
        catch (final RuntimeException | Error ex)
        {
            serviceLab.close();
            throw ex;
        }
        return serviceLab;
    }

    static String backendAddress(final int n)
    {
        return "10.77." + (10 + n) + ".2";
    }

    String backendNs(final int n)
    {
        return prefix + "-b" + n;
    }

    private void addBackendNamespace(final int n)
    {
        final String ns = backendNs(n);
        final String gw = lab.ns(Role.GW);
        Exec.check("ip", "netns", "add", ns);
        Exec.check("ip", "link", "add", "b" + n, "netns", gw, "type", "veth", "peer", "name", "eth0", "netns", ns);
        Exec.check("ip", "-n", gw, "addr", "add", "10.77." + (10 + n) + ".1/24", "dev", "b" + n);
        Exec.check("ip", "-n", gw, "link", "set", "b" + n, "up");
        Exec.check("ip", "-n", ns, "link", "set", "lo", "up");
        Exec.check("ip", "-n", ns, "addr", "add", backendAddress(n) + "/24", "dev", "eth0");
        Exec.check("ip", "-n", ns, "link", "set", "eth0", "up");
        Exec.check("ip", "-n", ns, "route", "add", "default", "via", "10.77." + (10 + n) + ".1");
        Exec.run(List.of("ip", "netns", "exec", ns, "sh", "-c",
            "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6"), null, 10_000)
            .orThrow();
        final long deadlineNs = System.nanoTime() + 30_000_000_000L; // linkwatch sets operstate late on a busy machine
        while (!Exec.run("ip", "-n", ns, "-o", "link", "show", "dev", "eth0").stdout().contains("state UP") ||
            !Exec.run("ip", "-n", gw, "-o", "link", "show", "dev", "b" + n).stdout().contains("state UP"))
        {
            if (System.nanoTime() > deadlineNs)
            {
                throw new IllegalStateException(ns + ": veth not up after 30 s");
            }
            sleepMs(20);
        }
    }

    /**
     * The command line of a {@link ServicePeers} JVM. Everything under test (natgw, backends, clients, the CLI)
     * runs at nice -10, so that whatever else a shared 2-core machine is running slows the tests less.
     */
    static List<String> peer(final String... args)
    {
        final List<String> command = new ArrayList<>(List.of("nice", "-n", "-10",
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), ServicePeers.class.getName()));
        command.addAll(List.of(args));
        return command;
    }

    /** Runs a command in backend namespace {@code n}. */
    List<String> inBackend(final int n, final List<String> command)
    {
        final List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", backendNs(n)));
        cmd.addAll(command);
        return cmd;
    }

    /** Starts backend {@code bN}'s server (HTTP on the TCP ports, DNS-like on the UDP ports; "-" for none). */
    LabProcess startBackend(final int n, final String tcpPorts, final String udpPorts, final Consumer<String> listener)
        throws Exception
    {
        // ip netns exec execs in place: started from the gateway namespace, it ends up as the JVM in the backend's
        final LabProcess process = lab.start(Role.GW, inBackend(n, peer("backend", "b" + n, tcpPorts, udpPorts)),
            null, listener);
        backendProcesses.computeIfAbsent(n, k -> new ArrayList<>()).add(process);
        if (!process.awaitLine("ready"::equals, 20_000))
        {
            fail("backend b" + n + " did not start:\n" + process.tail(20));
        }
        return process;
    }

    /** Starts natgw in the gateway namespace, steering the client side in, with these extra arguments. */
    LabProcess startNatgw(final String... extra) throws Exception
    {
        final List<String> args = new ArrayList<>(List.of("run", "--tun", Lab.TUN_NAME, "--inside", Lab.INSIDE_CIDR,
            "--snat", Lab.POOL_ADDR, "--steer", Lab.GW_INSIDE_IF, "--queues", "2", "--metrics-port", "0"));
        args.addAll(List.of(extra));
        return startNatgwWith(args.toArray(String[]::new));
    }

    /** Starts natgw in the gateway namespace with exactly these arguments (after the jar). */
    LabProcess startNatgwWith(final String... args) throws Exception
    {
        final List<String> command = new ArrayList<>(List.of("nice", "-n", "-10"));
        command.addAll(Gateways.natgwCommand(args));
        command.add("--fresh"); // each test starts with an empty table, whatever the one before it left in the state file
        natgw = lab.start(Role.GW, command, Path.of("target", "natgw-" + prefix + ".log"), null);
        if (!natgw.awaitLine(line -> line.contains("natgw: running"), 60_000))
        {
            fail("natgw did not start:\n" + natgw.tail(30));
        }
        return natgw;
    }

    LabProcess natgwProcess()
    {
        return natgw;
    }

    /**
     * A natgw command (services, service ..., conntrack ...) against the running gateway, at the priority of
     * everything under test: nothing here is timed, and at nice 19 a busy machine starved the CLI for minutes.
     */
    CommandResult natgw(final String... args)
    {
        final List<String> command = new ArrayList<>(List.of("nice", "-n", "-10"));
        command.addAll(Gateways.natgwCommand(args));
        return lab.exec(Role.GW, command);
    }

    /** A natgw command that must succeed; returns its output. */
    String natgwOk(final String... args)
    {
        final CommandResult result = natgw(args);
        assertEquals(0, result.exitCode(), () -> "natgw " + String.join(" ", args) + ": " + result);
        return result.stdout();
    }

    CommandResult inClient(final List<String> command)
    {
        return lab.exec(Role.CLIENT, command);
    }

    CommandResult inBackendNs(final int n, final List<String> command)
    {
        return Exec.run(inBackend(n, command), null, 60_000);
    }

    /** Stops backend {@code n}'s processes and deletes its namespace (the gateway's end of its veth goes too). */
    void deleteBackend(final int n)
    {
        for (final LabProcess p : backendProcesses.getOrDefault(n, List.of()))
        {
            p.stop(2_000);
        }
        deleteNamespace(backendNs(n));
    }

    private static void deleteNamespace(final String ns)
    {
        if (!Lab.namespaces().contains(ns))
        {
            return;
        }
        for (final String signal : List.of("TERM", "KILL"))
        {
            final List<String> pids = Lab.pids(ns);
            if (pids.isEmpty())
            {
                break;
            }
            final List<String> kill = new ArrayList<>(List.of("kill", "-" + signal));
            kill.addAll(pids);
            Exec.run(kill);
            final long deadlineNs = System.nanoTime() + 3_000_000_000L;
            while (!Lab.pids(ns).isEmpty() && System.nanoTime() < deadlineNs)
            {
                sleepMs(50);
            }
        }
        final CommandResult result = Exec.run("ip", "netns", "del", ns);
        if (!result.ok() && Lab.namespaces().contains(ns))
        {
            throw new Exec.CommandFailedException(result);
        }
    }

    private static void removeBackendNamespaces(final String prefix)
    {
        for (final String ns : Lab.namespaces())
        {
            if (ns.startsWith(prefix + "-b"))
            {
                try
                {
                    deleteNamespace(ns);
                }
                catch (final RuntimeException ex)
                {
                    System.err.println("service lab: cannot remove " + ns + ": " + ex.getMessage());
                }
            }
        }
    }

    /** Namespaces of this lab still in {@code ip netns list}. */
    List<String> leftovers()
    {
        final List<String> left = new ArrayList<>();
        for (final String ns : Lab.namespaces())
        {
            if (ns.startsWith(prefix + "-"))
            {
                left.add(ns);
            }
        }
        return left;
    }

    /** Stops natgw and every peer, removes the backend namespaces and the lab; asserts nothing is left. */
    @Override
    public void close() throws Exception
    {
        if (closed)
        {
            return;
        }
        closed = true;
        try
        {
            if (natgw != null)
            {
                natgw.stop(10_000);
            }
        }
        finally
        {
            try
            {
                for (final List<LabProcess> processes : backendProcesses.values())
                {
                    processes.forEach(p -> p.stop(2_000));
                }
                removeBackendNamespaces(prefix);
            }
            finally
            {
                lab.close();
                try
                {
                    Runtime.getRuntime().removeShutdownHook(shutdownHook);
                }
                catch (final IllegalStateException ignore)
                {
                    // shutting down already
                }
            }
        }
        assertTrue(leftovers().isEmpty(), "namespaces left behind: " + leftovers());
    }

    static void sleepMs(final long ms)
    {
        try
        {
            Thread.sleep(ms);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    /** Writes a file under target/ for a test (a config file, a stop file's directory). */
    static Path file(final String name, final String content) throws Exception
    {
        final Path path = Path.of("target", name).toAbsolutePath();
        Files.writeString(path, content);
        return path;
    }

    /** natgw conntrack -S counters summed over workers. */
    Map<String, Long> conntrackStats()
    {
        final Map<String, Long> stats = new HashMap<>();
        for (final String line : natgwOk("conntrack", "-S").split("\n"))
        {
            for (final String field : line.trim().split("\\s+"))
            {
                final int eq = field.indexOf('=');
                if (eq > 0)
                {
                    try
                    {
                        stats.merge(field.substring(0, eq), Long.parseLong(field.substring(eq + 1)), Long::sum);
                    }
                    catch (final NumberFormatException ignore)
                    {
                        // cpu=... labels
                    }
                }
            }
        }
        return stats;
    }

    int backends()
    {
        return backends;
    }

    /** NewConn of {@code backend} (ADDR:PORT) in service {@code vipPort} (ADDR:PORT), from natgw services; -1 if not listed. */
    long newConnections(final String vipPort, final String backend)
    {
        boolean inService = false;
        for (final String line : natgwOk("services").split("\n"))
        {
            final String[] f = line.trim().split("\\s+");
            if (!line.startsWith("  "))
            {
                inService = f.length >= 2 && f[1].equals(vipPort);
            }
            else if (inService && f[0].equals("->") && f[1].equals(backend))
            {
                // -> ADDR:PORT Forward Weight ActiveConn InActConn NewConn ...
                return Long.parseLong(f[6]);
            }
        }
        return -1;
    }

    // ------------------------------------------------------------------ handshakes through the TUN

    private static final String HANDSHAKE_TABLE = "natgw_test_handshakes";
    private static final Pattern COUNTER = Pattern.compile("counter\\s+(\\w+)\\s*\\{\\s*packets\\s+(\\d+)");

    /** SYNs and SYN-ACKs the kernel handed to natgw's TUN ({@code in}) and natgw wrote back ({@code out}). */
    record Handshakes(long synsIn, long synsOut, long synAcksIn, long synAcksOut)
    {
        Handshakes since(final Handshakes before)
        {
            return new Handshakes(synsIn - before.synsIn, synsOut - before.synsOut, synAcksIn - before.synAcksIn,
                synAcksOut - before.synAcksOut);
        }

        boolean noneInFlight()
        {
            return synsIn == synsOut && synAcksIn == synAcksOut;
        }
    }

    /**
     * Counts every SYN and SYN-ACK crossing natgw's TUN, in the gateway's forward path: a handshake packet natgw
     * lost (dropped, or never read from a full TUN queue) shows as an {@code in} without its {@code out}, whatever
     * the time it took. A SYN that a slow machine made the client retransmit is counted on both sides.
     */
    void countHandshakes()
    {
        final String syn = "tcp flags & (syn | ack) == syn";
        final String synAck = "tcp flags & (syn | ack) == syn | ack";
        final String ruleset = "table ip " + HANDSHAKE_TABLE + " {\n" +
            "  counter syn_in { }\n  counter syn_out { }\n  counter synack_in { }\n  counter synack_out { }\n" +
            "  chain forward {\n    type filter hook forward priority filter; policy accept;\n" +
            "    oifname \"" + Lab.TUN_NAME + "\" " + syn + " counter name \"syn_in\"\n" +
            "    iifname \"" + Lab.TUN_NAME + "\" " + syn + " counter name \"syn_out\"\n" +
            "    oifname \"" + Lab.TUN_NAME + "\" " + synAck + " counter name \"synack_in\"\n" +
            "    iifname \"" + Lab.TUN_NAME + "\" " + synAck + " counter name \"synack_out\"\n" +
            "  }\n}\n";
        Exec.run(lab.inNamespace(Role.GW, List.of("nft", "-f", "-")), ruleset, 30_000).orThrow();
    }

    Handshakes handshakes()
    {
        final Map<String, Long> counts = new HashMap<>();
        final Matcher m = COUNTER.matcher(
            lab.exec(Role.GW, "nft", "list", "counters", "table", "ip", HANDSHAKE_TABLE).orThrow().stdout());
        while (m.find())
        {
            counts.put(m.group(1), Long.parseLong(m.group(2)));
        }
        return new Handshakes(counts.get("syn_in"), counts.get("syn_out"), counts.get("synack_in"), counts.get("synack_out"));
    }

    /**
     * The handshake packets since {@code before}, once natgw has written out every one it was handed (a packet
     * may be inside natgw when the traffic ends), or as they are after 30 s; the caller asserts.
     */
    Handshakes awaitHandshakesThrough(final Handshakes before)
    {
        final long deadlineNs = System.nanoTime() + 30_000_000_000L;
        Handshakes through = handshakes().since(before);
        while (!through.noneInFlight() && System.nanoTime() < deadlineNs)
        {
            sleepMs(50);
            through = handshakes().since(before);
        }
        return through;
    }

    /** TcpExtTCPSynRetrans of the client namespace: SYNs the clients sent again (no answer within their RTO). */
    long clientSynRetransmissions()
    {
        final long retransmitted = lab.tcpExt(Role.CLIENT, "TCPSynRetrans");
        if (retransmitted < 0)
        {
            throw new IllegalStateException("no TcpExt TCPSynRetrans in the client's /proc/net/netstat");
        }
        return retransmitted;
    }
}
