package natgw.gateway;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

import natgw.gateway.GatewayEndToEndIT.Gateways;
import natgw.tun.CommandResult;
import natgw.tun.Exec;
import natgw.tun.lab.Lab;
import natgw.tun.lab.LabProcess;
import natgw.tun.lab.Role;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The golden test of {@code natgw conntrack}: the same flows (a UDP exchange, a ping, a TCP connection opened and
 * closed) through the kernel's nftables masquerade, read with the real {@code conntrack}, and through natgw, read
 * with {@code natgw conntrack}; the lines are compared field by field. Fields that must differ are left out of the
 * comparison by name: the translated address and port (10.77.2.1 for masquerade, the pool for natgw), the client's
 * ephemeral port and ICMP id, and the seconds left when they tick between the two reads.
 */
@Tag("root")
class ConntrackParityIT
{
    static final String PREFIX = "ngwc" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xFFFF));
    private static final String NFT_TABLE = "natgw_parity";
    private static final String UDP_PORT = "9201";
    private static final String TCP_PORT = "9101";
    private static final String MARKER_PORT = "9299";
    /** The fields whose values depend on who translated, or when it was read. */
    private static final Set<String> VARYING = Set.of("sport", "reply.dst", "reply.dport", "id", "reply.id", "timeout");
    /** How many ACKs a TCP exchange takes depends on timing (delayed ACKs): its counters are compared for UDP and ICMP. */
    private static final Set<String> TCP_TIMING = Set.of("packets", "bytes", "reply.packets", "reply.bytes");
    static Lab lab;

    @BeforeAll
    static void up() throws Exception
    {
        Gateways.requireRoot();
        for (final String tool : List.of("conntrack", "nft"))
        {
            if (!Exec.run(List.of("sh", "-c", "command -v " + tool)).ok())
            {
                fail(tool + " is needed for the golden test of natgw conntrack (apt-get install conntrack nftables; .ci/run does)");
            }
        }
        lab = Lab.up(PREFIX, 1);
    }

    @AfterAll
    static void down() throws Exception
    {
        Gateways.closeLab(lab, PREFIX);
    }

    @Test
    void shouldListCountAndReportEventsAsConntrackToolsDoesForTheKernel() throws Exception
    {
        // the kernel, read by conntrack-tools
        lab.exec(Role.GW, "sysctl", "-qw", "net.netfilter.nf_conntrack_acct=1").orThrow();
        Exec.run(lab.inNamespace(Role.GW, List.of("nft", "-f", "-")), "table ip " + NFT_TABLE + " {\n" +
            "  chain postrouting { type nat hook postrouting priority srcnat; policy accept;\n" +
            "    ip saddr " + Lab.INSIDE_CIDR + " oifname \"" + Lab.GW_OUTSIDE_IF + "\" masquerade; }\n}\n", 30_000).orThrow();
        final Observed kernel;
        try
        {
            kernel = observe(List.of("conntrack"));
        }
        finally
        {
            lab.exec(Role.GW, "nft", "delete", "table", "ip", NFT_TABLE);
            lab.exec(Role.GW, "conntrack", "-F");
        }

        // natgw, read by natgw conntrack
        final LabProcess natgw = Gateways.start(lab, "reserve");
        final Observed ours;
        try
        {
            ours = observe(Gateways.natgwCommand("conntrack"));
        }
        finally
        {
            natgw.stop(10_000);
        }

        for (final String flow : List.of("udp", "icmp", "tcp"))
        {
            assertSameFields("conntrack -L, " + flow, kernel.listed.get(flow), ours.listed.get(flow),
                flow.equals("tcp") ? TCP_TIMING : Set.of());
        }
        assertSameFields("conntrack -G, udp", kernel.got, ours.got, Set.of());
        assertSameFields("conntrack -L -o extended, udp", kernel.extended, ours.extended, Set.of());
        assertTrue(ours.extended.startsWith("ipv4     2 udp      17 "), ours.extended);
        assertSameFields("conntrack -D, icmp", kernel.deleted, ours.deleted, Set.of());
        assertEquals(kernel.deletedLine.replaceAll("conntrack v[0-9.]+ \\(conntrack-tools\\)", "natgw"), ours.deletedLine,
            "the count of -D, on stderr");
        // -C counts what -L lists (the marker datagrams make the totals differ between the two runs)
        assertEquals(String.valueOf(kernel.lines), kernel.count, "conntrack -C, kernel");
        assertEquals(String.valueOf(ours.lines), ours.count, "natgw conntrack -C");
        assertEquals(kernel.countLine.replaceAll("conntrack v[0-9.]+ \\(conntrack-tools\\)", "natgw").replaceAll("\\d+", "N"),
            ours.countLine.replaceAll("\\d+", "N"), "the count line, on stderr");
        assertEquals("natgw: " + ours.lines + " flow entries have been shown.", ours.countLine);
        assertEquals(kernel.events.get("udp"), ours.events.get("udp"), "-E: UDP request and answer");
        assertEquals(kernel.events.get("icmp"), ours.events.get("icmp"), "-E: ping");
        assertEquals(kernel.events.get("tcp"), ours.events.get("tcp"), "-E: TCP open and close");
    }

    /** What one side's conntrack tool showed of the three flows. */
    private static final class Observed
    {
        final Map<String, String> listed = new LinkedHashMap<>();
        final Map<String, List<String>> events = new LinkedHashMap<>();
        String count;
        String countLine;
        int lines;
        String got;
        String extended;
        String deleted;
        String deletedLine;
    }

    private static Observed observe(final List<String> tool) throws Exception
    {
        final Observed observed = new Observed();
        try (LabProcess server = lab.start(Role.SERVER, peer(MirrorPeer.class, "server", UDP_PORT));
             LabProcess events = lab.start(Role.GW, with(tool, "-E")))
        {
            if (!server.awaitLine("ready"::equals, 30_000))
            {
                fail("mirror peer did not start: " + server.tail(5));
            }
            // the listener is attached once it reports a flow: datagrams to a port nobody listens on until one shows
            final long deadline = System.nanoTime() + 30_000_000_000L;
            boolean attached = false;
            while (!attached && System.nanoTime() < deadline)
            {
                lab.exec(Role.CLIENT, "bash", "-c", "echo marker > /dev/udp/" + Lab.SERVER_ADDR + "/" + MARKER_PORT);
                attached = events.awaitLine(line -> line.contains("[NEW] udp") && line.contains("dport=" + MARKER_PORT), 500);
            }
            assertTrue(attached, "conntrack -E never reported a datagram: " + events.output());

            // the flows
            final CommandResult udp = lab.exec(Role.CLIENT, peer(MirrorPeer.class, "client", Lab.SERVER_ADDR, UDP_PORT, "100"));
            assertEquals("answered", udp.stdout().trim(), udp.toString());
            final CommandResult ping = lab.exec(Role.CLIENT, "ping", "-c", "1", "-s", "56", "-W", "2", Lab.SERVER_ADDR);
            assertEquals(0, ping.exitCode(), ping.toString());
            try (LabProcess tcpServer = lab.start(Role.SERVER, peer(BulkPeers.class, "server", TCP_PORT, "3000", "2")))
            {
                if (!tcpServer.awaitLine("ready"::equals, 30_000))
                {
                    fail("bulk peer did not start: " + tcpServer.tail(5));
                }
                try (LabProcess tcpClient = lab.start(Role.CLIENT, peer(BulkPeers.class, "client", Lab.SERVER_ADDR, TCP_PORT, "3000", "1")))
                {
                    assertTrue(tcpClient.awaitLine("done"::equals, 30_000), tcpClient.tail(5));
                    assertTrue(tcpServer.awaitLine("done"::equals, 30_000), tcpServer.tail(5));
                    tcpClient.stop(5000); // closes first: FIN from the client, the server's FIN follows as it exits
                }
            }
            assertTrue(events.awaitLine(line -> line.contains("TIME_WAIT") && line.contains("dport=" + TCP_PORT), 30_000),
                "the TCP connection never reached TIME_WAIT: " + events.tail(10));

            final CommandResult list = lab.exec(Role.GW, with(tool, "-L"));
            assertEquals(0, list.exitCode(), list.toString());
            observed.lines = list.stdout().isEmpty() ? 0 : list.stdout().split("\n").length;
            for (final String line : list.stdout().split("\n"))
            {
                final String flow = flowOf(line);
                if (flow != null)
                {
                    observed.listed.put(flow, line);
                }
            }
            observed.countLine = list.stderr().trim();
            observed.count = lab.exec(Role.GW, with(tool, "-C")).stdout().trim();
            // the events so far: -D's deletion would add a DESTROY that says who deleted it ([USERSPACE] portid=..)
            for (final String line : events.lines())
            {
                final String flow = flowOf(line);
                if (flow != null)
                {
                    observed.events.computeIfAbsent(flow, f -> new ArrayList<>()).add(withoutVarying(line));
                }
            }
            final Map<String, String> tuple = fields(observed.listed.get("udp"));
            final CommandResult get = lab.exec(Role.GW, with(tool, "-G", "-p", "udp", "-s", tuple.get("src"), "-d", tuple.get("dst"),
                "--sport", tuple.get("sport"), "--dport", tuple.get("dport")));
            observed.got = get.stdout().trim();
            final CommandResult extended = lab.exec(Role.GW, with(tool, "-L", "-o", "extended", "-p", "udp", "--dport", UDP_PORT));
            observed.extended = extended.stdout().trim();
            final CommandResult delete = lab.exec(Role.GW, with(tool, "-D", "-p", "icmp", "-d", Lab.SERVER_ADDR));
            observed.deleted = delete.stdout().trim();
            observed.deletedLine = delete.stderr().trim();
        }
        assertEquals(Set.of("udp", "icmp", "tcp"), observed.listed.keySet(), "flows listed: " + observed.listed);
        return observed;
    }

    /** The test flow a conntrack line is about, or null for another (the pings to the gateway). */
    private static String flowOf(final String line)
    {
        if (line.contains("dport=" + UDP_PORT + " "))
        {
            return "udp";
        }
        if (line.contains("dport=" + TCP_PORT + " "))
        {
            return "tcp";
        }
        return line.contains("icmp") && line.contains("dst=" + Lab.SERVER_ADDR + " ") ? "icmp" : null;
    }

    private static void assertSameFields(final String what, final String kernel, final String ours, final Set<String> alsoVarying)
    {
        final Map<String, String> k = fields(kernel);
        final Map<String, String> o = fields(ours);
        assertEquals(new ArrayList<>(k.keySet()), new ArrayList<>(o.keySet()), what + ": the fields and their order\n" +
            "kernel: " + kernel + "\nnatgw:  " + ours);
        for (final Map.Entry<String, String> field : k.entrySet())
        {
            if (!VARYING.contains(field.getKey()) && !alsoVarying.contains(field.getKey()))
            {
                assertEquals(field.getValue(), o.get(field.getKey()), what + ": " + field.getKey() + "\nkernel: " + kernel +
                    "\nnatgw:  " + ours);
            }
        }
    }

    /**
     * A line's fields by name: the leading columns as protocol, protonum, timeout, state; {@code key=value} pairs,
     * the second tuple's prefixed with {@code reply.}; flags in brackets as themselves.
     */
    static Map<String, String> fields(final String line)
    {
        final Map<String, String> fields = new LinkedHashMap<>();
        final String[] words = line.trim().split("\\s+");
        final String[] leading = words[0].equals("ipv4") ? new String[]{"l3", "l3num", "protocol", "protonum", "timeout", "state"} :
            new String[]{"protocol", "protonum", "timeout", "state"};
        int i = 0;
        for (; i < words.length && !words[i].contains("=") && !words[i].startsWith("["); i++)
        {
            fields.put(leading[Math.min(i, leading.length - 1)], words[i]);
        }
        String prefix = "";
        for (; i < words.length; i++)
        {
            final String word = words[i];
            final int eq = word.indexOf('=');
            if (eq < 0)
            {
                fields.put(word, word);
                continue;
            }
            final String key = word.substring(0, eq);
            if (key.equals("src") && fields.containsKey("src"))
            {
                prefix = "reply.";
            }
            fields.put(prefix + key, word.substring(eq + 1));
        }
        return fields;
    }

    /** An event line with the fields that must differ blanked, and the count of the rest. */
    private static String withoutVarying(final String line)
    {
        final Map<String, String> fields = fields(line.replaceFirst("^\\s*\\[(NEW|UPDATE|DESTROY)\\]", "$1"));
        final StringBuilder sb = new StringBuilder();
        for (final Map.Entry<String, String> field : fields.entrySet())
        {
            if (!VARYING.contains(field.getKey()) || field.getKey().equals("timeout"))
            {
                sb.append(field.getKey()).append('=').append(field.getValue()).append(' ');
            }
        }
        return sb.toString().trim();
    }

    private static List<String> with(final List<String> tool, final String... args)
    {
        final List<String> command = new ArrayList<>(tool);
        command.addAll(List.of(args));
        return command;
    }

    private static List<String> peer(final Class<?> main, final String... args)
    {
        final List<String> command = new ArrayList<>(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:TieredStopAtLevel=1",
            "-cp", System.getProperty("java.class.path"), main.getName()));
        command.addAll(List.of(args));
        return command;
    }
}
