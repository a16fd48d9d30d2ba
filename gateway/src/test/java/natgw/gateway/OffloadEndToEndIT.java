package natgw.gateway;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import natgw.gateway.GatewayEndToEndIT.Gateways;
import natgw.tun.CommandResult;
import natgw.tun.Exec;
import natgw.tun.lab.Lab;
import natgw.tun.lab.LabProcess;
import natgw.tun.lab.Role;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Bulk TCP through natgw with offloads on (GSO super-packets, partial checksums) and off, in a namespace lab:
 * 1 GiB each way at once, the SHA-256 of what each end sent equal to what the other received, and natgw's
 * per-connection counters squared with what the two TCP stacks counted.
 */
@Tag("root")
class OffloadEndToEndIT
{
    static final String PREFIX = "ngwo" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xFFFF));
    private static final long BYTES = 1L << 30;
    private static final long TRANSFER_TIMEOUT_MS = 300_000;
    /** The server's SYN-ACK: sent by the listener's request socket, so not in the accepted socket's segs_out. */
    private static final int SYN_ACK = 1;
    private static final Pattern SEGS_OUT = Pattern.compile("\\bsegs_out:(\\d+)");
    private static final Pattern BYTES_SENT = Pattern.compile("\\bbytes_sent:(\\d+)");
    private static final Pattern PACKETS_BYTES = Pattern.compile("packets=(\\d+) bytes=(\\d+)");
    static Lab lab;

    @BeforeAll
    static void up() throws Exception
    {
        Gateways.requireRoot();
        lab = Lab.up(PREFIX, 1);
    }

    @AfterAll
    static void down() throws Exception
    {
        Gateways.closeLab(lab, PREFIX);
    }

    @ParameterizedTest(name = "offload {0}")
    @ValueSource(strings = {"on", "off"})
    void shouldCarryAGibibyteEachWayIntactAndCountItAsTheEndsDid(final String offload) throws Exception
    {
        final LabProcess natgw = Gateways.start(lab, "reserve", "--offload", offload);
        LabProcess server = null;
        LabProcess client = null;
        try
        {
            assertTrue(natgw.lines().stream().anyMatch(l -> l.contains("offloads " + (offload.equals("on") ? "csum,tso4" : "off"))),
                natgw.tail(5));
            assertTrue(natgw.lines().stream().anyMatch(l -> l.contains("queue steering connections")), "a connection " +
                "on the worker that made it, by default: " + natgw.tail(5));
            server = peer(Role.SERVER, "server", "9100", Long.toString(BYTES), "2");
            client = lab.start(Role.CLIENT, command("client", Lab.SERVER_ADDR, "9100", Long.toString(BYTES), "1"));
            awaitDone(server);
            awaitDone(client);

            final Map<String, String> c = results(client);
            final Map<String, String> s = results(server);
            assertEquals(c.get("sent"), s.get("received"), "client to server: what arrived is what was sent");
            assertEquals(s.get("sent"), c.get("received"), "server to client");
            assertTrue(c.get("sent").startsWith(BYTES + " "), c.get("sent"));

            // every segment the ends sent went through natgw, which counts a super-packet as its segments; the
            // last ACKs may still be on their way: wait until the counts settle, then compare
            final long deadline = System.nanoTime() + 30_000_000_000L;
            long[] ends;
            long[] counted;
            do
            {
                ends = tcpInfo();
                counted = conntrackCounts(c.get("local"));
            }
            while (ends[0] + SYN_ACK != counted[0] + counted[2] && System.nanoTime() < deadline && pause());
            assertEquals(0, tunTxDropped(), "the 256 KiB socket buffers keep far fewer packets in flight than the TUN queue holds");
            assertEquals(ends[0] + SYN_ACK, counted[0] + counted[2],
                "segments the ends sent (TCP_INFO segs_out, both ends, and the SYN-ACK) = segments natgw counted (original " + counted[0] +
                ", reply " + counted[2] + ")");
            // each segment carries its own 40 to 60 bytes of headers on top of the payload the ends sent
            final long payload = ends[1];
            final long packets = counted[0] + counted[2];
            final long bytes = counted[1] + counted[3];
            assertTrue(bytes >= payload + 40 * packets && bytes <= payload + 60 * packets,
                "natgw counted " + bytes + " bytes in " + packets + " packets for " + payload + " bytes of payload");
        }
        finally
        {
            for (final LabProcess p : new LabProcess[]{client, server})
            {
                if (p != null)
                {
                    p.stop(1000);
                }
            }
            natgw.stop(10_000);
        }
    }

    private static List<String> command(final String... args)
    {
        final List<String> command = new ArrayList<>(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-cp", System.getProperty("java.class.path"), BulkPeers.class.getName()));
        command.addAll(List.of(args));
        return command;
    }

    private static LabProcess peer(final Role role, final String... args) throws Exception
    {
        final LabProcess process = lab.start(role, command(args));
        if (!process.awaitLine("ready"::equals, 30_000))
        {
            process.stop(1000);
            fail("bulk peer did not start: " + process.tail(10));
        }
        return process;
    }

    private static void awaitDone(final LabProcess peer) throws Exception
    {
        if (!peer.awaitLine("done"::equals, TRANSFER_TIMEOUT_MS))
        {
            fail(peer.name() + " did not finish its gibibyte within " + TRANSFER_TIMEOUT_MS + " ms: " + peer.tail(10));
        }
    }

    private static Map<String, String> results(final LabProcess peer)
    {
        final Map<String, String> results = new HashMap<>();
        for (final String line : peer.lines())
        {
            final int space = line.indexOf(' ');
            if (space > 0)
            {
                results.put(line.substring(0, space), line.substring(space + 1));
            }
        }
        return results;
    }

    /** Segments and payload bytes (retransmissions included) both ends sent, from their TCP_INFO (ss -ti). */
    private static long[] tcpInfo() throws Exception
    {
        final long[] sum = new long[2];
        for (final Role role : new Role[]{Role.CLIENT, Role.SERVER})
        {
            final CommandResult ss = lab.exec(role, "ss", "-tin", "state", "established", "( sport = :9100 or dport = :9100 )");
            final Matcher segs = SEGS_OUT.matcher(ss.stdout());
            final Matcher bytes = BYTES_SENT.matcher(ss.stdout());
            if (!segs.find() || !bytes.find())
            {
                fail("no segs_out/bytes_sent in ss output of " + role + ": " + ss);
            }
            sum[0] += Long.parseLong(segs.group(1));
            sum[1] += Long.parseLong(bytes.group(1));
        }
        return sum;
    }

    private static boolean pause() throws InterruptedException
    {
        Thread.sleep(100);
        return true;
    }

    /** Original packets, bytes, reply packets, bytes of the client's connection, from natgw conntrack -L. */
    private static long[] conntrackCounts(final String clientPort) throws Exception
    {
        final CommandResult list = lab.exec(Role.GW, Gateways.natgwCommand("conntrack", "-L", "-p", "tcp"));
        for (final String line : list.stdout().split("\n"))
        {
            if (line.contains("sport=" + clientPort + " dport=9100"))
            {
                final Matcher m = PACKETS_BYTES.matcher(line);
                final long[] counts = new long[4];
                for (int i = 0; i < 4; i += 2)
                {
                    assertTrue(m.find(), line);
                    counts[i] = Long.parseLong(m.group(1));
                    counts[i + 1] = Long.parseLong(m.group(2));
                }
                return counts;
            }
        }
        throw new AssertionError("no connection from port " + clientPort + " in natgw conntrack -L: " + list);
    }

    private static long tunTxDropped() throws Exception
    {
        final CommandResult stats = lab.exec(Role.GW, Gateways.natgwCommand("conntrack", "-S"));
        final Matcher m = Pattern.compile("tun_tx_dropped=(-?\\d+)").matcher(stats.stderr());
        if (!m.find())
        {
            fail("no tun_tx_dropped in natgw conntrack -S: " + stats);
        }
        return Long.parseLong(m.group(1));
    }
}
