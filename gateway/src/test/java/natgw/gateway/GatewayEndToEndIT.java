package natgw.gateway;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

import natgw.core.flow.FlowTuple;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.PacketBuilder;
import natgw.tun.CommandResult;
import natgw.tun.Exec;
import natgw.tun.lab.JavaCommand;
import natgw.tun.lab.Lab;
import natgw.tun.lab.LabProcess;
import natgw.tun.lab.Role;
import natgw.tun.testing.PacketInjector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * natgw run in a real namespace lab: client -> gateway (natgw on a TUN) -> server, the server having no
 * route back to the client, so every answer proves a translation.
 */
@Tag("root")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GatewayEndToEndIT
{
    static final String PREFIX = "ngwe" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xFFFF));
    static Lab lab;
    static LabProcess natgw;
    static String baseline;

    @BeforeAll
    static void up() throws Exception
    {
        Gateways.requireRoot();
        lab = Lab.up(PREFIX, 4);
        baseline = Gateways.networkState(lab);
        natgw = Gateways.start(lab, "reserve");
    }

    @AfterAll
    static void down() throws Exception
    {
        Gateways.stopAndCloseLab(natgw, lab, PREFIX);
    }

    @Test
    @Order(1)
    void shouldCarryHttpWithThePoolAddressAsSource() throws Exception
    {
        try (LabProcess server = Gateways.peer(lab, Role.SERVER, "http-server", "8080"))
        {
            final CommandResult result = lab.exec(Role.CLIENT, "curl", "-s", "--max-time", "30", "http://" + Lab.SERVER_ADDR + ":8080/");
            assertEquals(0, result.exitCode(), result.toString());
            assertEquals("you are " + Lab.POOL_ADDR, result.stdout().trim());
        }
    }

    @Test
    @Order(2)
    void shouldCarryUdpRequestAndResponse() throws Exception
    {
        try (LabProcess server = Gateways.peer(lab, Role.SERVER, "udp-echo", "5353"))
        {
            final CommandResult result = lab.exec(Role.CLIENT, Gateways.peerCommand("udp-ask", Lab.SERVER_ADDR, "5353"));
            assertEquals(0, result.exitCode(), result.toString());
            assertTrue(result.stdout().trim().startsWith("from " + Lab.POOL_ADDR + ":"), result.stdout());
        }
    }

    @Test
    @Order(3)
    void shouldCarryPing() throws Exception
    {
        // -w: ping exits once 3 replies are in, however slowly they come (without it, once one reply is in it waits
        // only the interval after the last request), and asks again while none is answered, for at most 30 s
        final CommandResult result = lab.exec(Role.CLIENT, "ping", "-c", "3", "-i", "0.2", "-w", "30", Lab.SERVER_ADDR);
        assertEquals(0, result.exitCode(), () -> result + "\nnatgw's drops: " + dropsOrWhy());
        assertTrue(result.stdout().contains(" 3 received"), result.stdout());
    }

    @Test
    @Order(4)
    void shouldReturnPortUnreachableToTheClient() throws Exception
    {
        final CommandResult result = lab.exec(Role.CLIENT, Gateways.peerCommand("udp-refused", Lab.SERVER_ADDR, "5999"));
        assertEquals("ECONNREFUSED", result.stdout().trim(), result.toString());
    }

    @Test
    @Order(5)
    void shouldListTheConnectionsItCarried() throws Exception
    {
        final CommandResult list = lab.exec(Role.GW, Gateways.natgwCommand("conntrack", "-L", "-p", "udp"));
        assertEquals(0, list.exitCode(), list.toString());
        assertTrue(list.stdout().contains("dport=5353") && list.stdout().contains("dst=" + Lab.POOL_ADDR), list.stdout());
        final CommandResult tcp = lab.exec(Role.GW, Gateways.natgwCommand("conntrack", "-L", "-p", "tcp", "-d", Lab.SERVER_ADDR));
        assertTrue(tcp.stdout().contains("dport=8080"), tcp.stdout());
    }

    @Test
    @Order(6)
    void shouldDropMalformedPacketsByReasonAndKeepForwarding() throws Exception
    {
        final Map<String, Long> before = Gateways.drops(lab);
        final int client = FlowTuple.parseAddress("10.77.1.2");
        final int server = FlowTuple.parseAddress(Lab.SERVER_ADDR);
        final PacketBuilder pb = new PacketBuilder();
        final Map<String, Integer> expected = new HashMap<>();
        try (PacketInjector tun = PacketInjector.open(lab.ns(Role.GW), Lab.TUN_NAME))
        {
            int len = pb.udp(0, client, 4000, server, 53, 20);
            tun.send(bytes(pb, len), 10);
            expected.merge("truncated", 1, Integer::sum);

            len = pb.udp(0, client, 4000, server, 53, 20);
            byte[] p = bytes(pb, len);
            p[0] = 0x65;
            tun.send(p);
            expected.merge("bad_version", 1, Integer::sum);

            p = bytes(pb, pb.udp(0, client, 4000, server, 53, 20));
            p[0] = 0x44;
            tun.send(p);
            expected.merge("bad_header_length", 1, Integer::sum);

            p = bytes(pb, pb.udp(0, client, 4000, server, 53, 20));
            p[2] = 0x05;
            tun.send(p);
            expected.merge("bad_total_length", 1, Integer::sum);

            p = bytes(pb, pb.udp(0, client, 4000, server, 53, 20));
            p[Ipv4Header.CHECKSUM_OFFSET] ^= 0x5A;
            tun.send(p);
            expected.merge("bad_header_checksum", 1, Integer::sum);

            p = bytes(pb, pb.udp(0, client, 4000, server, 53, 20));
            p[p.length - 1] ^= 0x01;
            tun.send(p);
            expected.merge("bad_l4_checksum", 1, Integer::sum);

            p = bytes(pb, pb.tcp(0, client, 4000, server, 80, 0x02, 1, 0, 0));
            p[Ipv4Header.MIN_LENGTH + 12] = 0x10; // data offset 4 bytes
            tun.send(p);
            expected.merge("bad_l4_length", 1, Integer::sum);

            final ThreadLocalRandom random = ThreadLocalRandom.current();
            for (int i = 0; i < 200; i++)
            {
                final byte[] junk = new byte[random.nextInt(Ipv4Header.MIN_LENGTH, 200)];
                random.nextBytes(junk);
                junk[0] = (byte)(0x30 | junk[0] & 0x0F); // IP version 3: always invalid, never forwarded
                tun.send(junk);
            }
            expected.merge("bad_version", 200, Integer::sum);
        }
        final Map<String, Long> after = Gateways.awaitDrops(lab, before, expected);
        for (final Map.Entry<String, Integer> e : expected.entrySet())
        {
            final long delta = after.getOrDefault(e.getKey(), 0L) - before.getOrDefault(e.getKey(), 0L);
            assertEquals((long)e.getValue(), delta, "drops counted as " + e.getKey() + ": " + after);
        }
        assertTrue(natgw.isAlive(), "natgw died on malformed input:\n" + natgw.tail(20));
        shouldCarryPing();
    }

    @Test
    @Order(7)
    void shouldDropUnsolicitedPacketsToThePool() throws Exception
    {
        final Map<String, Long> before = Gateways.drops(lab);
        lab.exec(Role.SERVER, "ping", "-c", "2", "-i", "0.2", "-W", "1", Lab.POOL_ADDR);
        final Map<String, Long> after = Gateways.awaitDrops(lab, before, Map.of("no_mapping", 2));
        assertEquals(2L, after.getOrDefault("no_mapping", 0L) - before.getOrDefault("no_mapping", 0L), after.toString());
    }

    @Test
    @Order(8)
    void shouldStreamConnectionEventsToConntrackMinusE() throws Exception
    {
        try (LabProcess events = lab.start(Role.GW, Gateways.natgwCommand("conntrack", "-E")))
        {
            boolean seen = false;
            final long deadline = System.nanoTime() + 30_000_000_000L;
            while (!seen && System.nanoTime() < deadline)
            {
                // each ping is a new ICMP flow (new identifier): a NEW event once the listener is attached
                lab.exec(Role.CLIENT, "ping", "-c", "1", "-W", "1", Lab.SERVER_ADDR);
                seen = events.awaitLine(line -> line.contains("[NEW]") && line.startsWith("    [NEW] icmp") &&
                    line.contains("src=10.77.1.2 dst=" + Lab.SERVER_ADDR), 1000);
            }
            assertTrue(seen, "no NEW event for a ping:\n" + events.output());
        }
    }

    @Test
    @Order(9)
    void shouldFlushEveryConnection() throws Exception
    {
        final CommandResult flush = lab.exec(Role.GW, Gateways.natgwCommand("conntrack", "-F"));
        assertEquals(0, flush.exitCode(), flush.toString());
        assertTrue(flush.stderr().contains("table has been emptied"), flush.toString());
        final CommandResult list = lab.exec(Role.GW, Gateways.natgwCommand("conntrack", "-L"));
        assertEquals("", list.stdout(), "conntrack -L prints only connections on stdout");
        assertTrue(list.stderr().contains("natgw: 0 flow entries"), list.toString());
    }

    @Test
    @Order(20)
    void shouldLeaveNoRouteRuleNeighbourOrTunAfterSigterm() throws Exception
    {
        assertTrue(Gateways.networkState(lab).contains(Lab.TUN_NAME), "natgw's TUN should exist while it runs");
        // kill(1), not Process.destroy(): destroy also closes our end of its stdout, losing its last words
        Exec.run(List.of("kill", "-TERM", String.valueOf(natgw.pid())));
        final int exitCode = natgw.waitFor(60_000);
        assertFalse(natgw.isAlive(), "natgw did not exit within 60 s of SIGTERM");
        assertEquals(baseline, Gateways.networkState(lab));
        assertTrue(natgw.output().contains("host network restored"), "exit " + exitCode + ":\n" + natgw.output());
        natgw = null;
    }

    @Test
    @Order(21)
    void shouldRecoverWhatAKilledGatewayLeft() throws Exception
    {
        final LabProcess killed = Gateways.start(lab, "reserve");
        Exec.run(List.of("kill", "-9", String.valueOf(Gateways.javaPid(lab))));
        killed.waitFor(60_000);
        assertFalse(killed.isAlive(), "natgw survived SIGKILL for 60 s");
        final String leftover = Gateways.networkState(lab);
        assertFalse(leftover.contains(Lab.TUN_NAME + ":"), "the kernel removes a TUN whose last fd closed:\n" + leftover);
        final CommandResult cleanup = lab.exec(Role.GW, Gateways.natgwCommand("cleanup", Lab.TUN_NAME));
        assertEquals(0, cleanup.exitCode(), cleanup.toString());
        assertEquals(baseline, Gateways.networkState(lab));
    }

    private static String dropsOrWhy()
    {
        try
        {
            return Gateways.drops(lab).toString();
        }
        catch (final Exception | AssertionError ex)
        {
            return "unknown (" + ex + ")";
        }
    }

    private static byte[] bytes(final PacketBuilder pb, final int length)
    {
        final byte[] out = new byte[length];
        pb.buffer().getBytes(0, out);
        return out;
    }

    /** Helpers shared by the end-to-end tests. */
    static final class Gateways
    {
        static void requireRoot() throws Exception
        {
            final CommandResult id = Exec.run(List.of("id", "-u"));
            if (!id.stdout().trim().equals("0"))
            {
                fail("end-to-end tests need root (namespaces, TUN devices, routes); run them as root, as CI does");
            }
            if (!Files.exists(Path.of("/dev/net/tun")))
            {
                fail("end-to-end tests need /dev/net/tun (modprobe tun)");
            }
        }

        /** Removes a test's lab, and fails if a namespace of it is left behind. */
        /** Stops the gateway (if it started), then closes the lab whatever the stop did. */
        static void stopAndCloseLab(final LabProcess natgw, final Lab lab, final String prefix) throws Exception
        {
            try
            {
                if (natgw != null)
                {
                    natgw.stop(10_000);
                }
            }
            finally
            {
                closeLab(lab, prefix);
            }
        }

        static void closeLab(final Lab lab, final String prefix) throws Exception
        {
            if (lab != null)
            {
                lab.close();
            }
            assertTrue(Lab.existingNamespaces(prefix).isEmpty(), "lab namespaces left behind");
        }

        static Path jar()
        {
            final Path jar = Path.of("target", "natgw.jar").toAbsolutePath();
            if (!Files.exists(jar))
            {
                fail("natgw.jar not built: run the tests with `mvn verify` (the jar is made in the package phase)");
            }
            return jar;
        }

        static List<String> natgwCommand(final String... args)
        {
            return JavaCommand.natgwJar(jar(), args);
        }

        static List<String> peerCommand(final String... args)
        {
            final List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), LabPeers.class.getName()));
            command.addAll(List.of(args));
            return command;
        }

        static LabProcess peer(final Lab lab, final Role role, final String... args) throws Exception
        {
            final LabProcess process = lab.start(role, peerCommand(args));
            if (!process.awaitLine("ready"::equals, 20_000))
            {
                process.stop(1000);
                fail("peer " + String.join(" ", args) + " did not start: " + process.tail(10));
            }
            return process;
        }

        /**
         * Starts natgw with an empty table, whatever a test before left in its state file, and without the TCP
         * connections a test before left in the lab (an orphaned socket's FIN retransmitted through this gateway).
         */
        static LabProcess start(final Lab lab, final String strategy, final String... extra) throws Exception
        {
            lab.endConnections();
            final List<String> args = new ArrayList<>(List.of("--fresh"));
            args.addAll(List.of(extra));
            return startAttaching(lab, strategy, args.toArray(String[]::new));
        }

        /** Starts natgw on the lab's TUN, carrying on the flows of the state file a previous one left. */
        static LabProcess startAttaching(final Lab lab, final String strategy, final String... extra) throws Exception
        {
            final List<String> args = new ArrayList<>(List.of("run", "--tun", Lab.TUN_NAME, "--inside", Lab.INSIDE_CIDR,
                "--snat", Lab.POOL_ADDR, "--steer", Lab.GW_INSIDE_IF, "--queues", "2", "--metrics-port", "0",
                "--port-strategy", strategy));
            args.addAll(List.of(extra));
            final LabProcess process = lab.start(Role.GW, natgwCommand(args.toArray(String[]::new)),
                Path.of("target", "natgw-" + strategy + "-" + System.nanoTime() + ".log"), null);
            if (!process.awaitLine(line -> line.contains("natgw: running"), 60_000))
            {
                process.stop(2000);
                fail("natgw did not start:\n" + process.tail(30));
            }
            return process;
        }

        /** pid of the natgw JVM in the gateway namespace. */
        static long javaPid(final Lab lab) throws Exception
        {
            for (final String pid : Lab.pids(lab.ns(Role.GW)))
            {
                final String cmdline = Files.readString(Path.of("/proc", pid, "cmdline")).replace('\0', ' ');
                if (cmdline.contains("natgw.jar") && cmdline.contains(" run "))
                {
                    return Long.parseLong(pid);
                }
            }
            throw new IllegalStateException("no natgw process in " + lab.ns(Role.GW));
        }

        /** Drop counters summed over workers, from {@code natgw conntrack -S}. */
        static Map<String, Long> drops(final Lab lab) throws Exception
        {
            final CommandResult stats = lab.exec(Role.GW, natgwCommand("conntrack", "-S"));
            assertEquals(0, stats.exitCode(), stats.toString());
            final Map<String, Long> drops = new HashMap<>();
            for (final String line : stats.stdout().split("\n"))
            {
                for (final String field : line.trim().split("\\s+"))
                {
                    if (field.startsWith("drop_"))
                    {
                        final int eq = field.indexOf('=');
                        drops.merge(field.substring(5, eq), Long.parseLong(field.substring(eq + 1)), Long::sum);
                    }
                }
            }
            return drops;
        }

        /**
         * The drop counters once each reason in {@code expected} has grown by at least its count since
         * {@code before} (natgw counts a packet when a worker has processed it, a moment after it was sent), or
         * after 30 s; the caller asserts the exact counts.
         */
        static Map<String, Long> awaitDrops(final Lab lab, final Map<String, Long> before, final Map<String, Integer> expected)
            throws Exception
        {
            final long deadlineNs = System.nanoTime() + 30_000_000_000L;
            while (true)
            {
                final Map<String, Long> drops = drops(lab);
                boolean reached = true;
                for (final Map.Entry<String, Integer> e : expected.entrySet())
                {
                    reached &= drops.getOrDefault(e.getKey(), 0L) - before.getOrDefault(e.getKey(), 0L) >= e.getValue();
                }
                if (reached || System.nanoTime() > deadlineNs)
                {
                    return drops;
                }
                Thread.sleep(50);
            }
        }

        /** Everything natgw may touch in the gateway namespace, as text to compare. */
        static String networkState(final Lab lab) throws Exception
        {
            final StringBuilder sb = new StringBuilder();
            for (final List<String> command : List.of(
                List.of("ip", "-o", "link", "show"),
                List.of("ip", "rule", "show"),
                List.of("ip", "route", "show", "table", "all"),
                List.of("ip", "neigh", "show", "proxy"),
                List.of("sysctl", "net.ipv4.ip_forward", "net.ipv4.conf.all.rp_filter", "net.ipv4.conf.gi.rp_filter")))
            {
                final CommandResult result = lab.exec(Role.GW, command.toArray(String[]::new));
                sb.append("$ ").append(String.join(" ", command)).append('\n')
                    .append(result.stdout().replaceAll("(?m)^\\d+: ", "").replaceAll("link/ether \\S+", "")).append('\n');
            }
            return sb.toString();
        }
    }
}
