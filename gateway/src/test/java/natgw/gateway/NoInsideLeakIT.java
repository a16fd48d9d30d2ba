package natgw.gateway;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import natgw.core.flow.FlowTuple;
import natgw.core.nat.Cidr;
import natgw.core.packet.OddPackets;
import natgw.core.packet.PacketBuilder;
import natgw.gateway.GatewayEndToEndIT.Gateways;
import natgw.tun.lab.Lab;
import natgw.tun.lab.LabProcess;
import natgw.tun.lab.Role;
import natgw.tun.CommandResult;
import natgw.tun.Exec;
import natgw.tun.testing.PacketInjector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The escape test: while natgw runs, every class of odd packet the fuzzer starts from ({@link OddPackets}) is sent
 * at it, from an inside host through the kernel's routing (a raw socket in the client namespace) and written
 * straight into its TUN, both directions; a capture on the server's link, the outside, must hold no frame with an
 * inside source address. The capture's translated pings show it sees what natgw forwards; natgw's receive and drop
 * counters show the flood reached it.
 */
@Tag("root")
class NoInsideLeakIT
{
    static final String PREFIX = "ngwl" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xFFFF));
    private static final int PER_KIND_FROM_CLIENT = 1500;
    private static final int PER_KIND_INTO_TUN = 1500;
    private static final int ETHERTYPE_IPV4 = 0x0800;
    private static final int ETHERNET_HEADER = 14;
    static Lab lab;
    static LabProcess natgw;

    @BeforeAll
    static void up() throws Exception
    {
        Gateways.requireRoot();
        lab = Lab.up(PREFIX, 1);
        natgw = Gateways.start(lab, "reserve");
    }

    @AfterAll
    static void down() throws Exception
    {
        Gateways.stopAndCloseLab(natgw, lab, PREFIX);
    }

    @Test
    void shouldLetNoInsideSourceOutUnderAFloodOfOddPackets() throws Exception
    {
        final Path pcap = Path.of("target", "escape-" + PREFIX + ".pcap").toAbsolutePath();
        Files.deleteIfExists(pcap);
        final LabProcess capture = lab.start(Role.SERVER, List.of("tcpdump", "-i", Lab.SERVER_IF, "-n", "-U",
            "--immediate-mode", "-Z", "root", "-w", pcap.toString()));
        if (!capture.awaitLine(line -> line.contains("listening on"), 20_000))
        {
            capture.stop(1000);
            fail("tcpdump did not start in the server namespace:\n" + capture.tail(10));
        }
        final long rxBefore = received();
        final Map<String, Long> dropsBefore = Gateways.drops(lab);
        final long tunWrites;
        final String flood;
        try
        {
            ping();
            final CommandResult fromClient = lab.exec(Role.CLIENT, Gateways.peerCommand("odd-flood",
                String.valueOf(PER_KIND_FROM_CLIENT), "10.77.1", Lab.SERVER_ADDR, String.valueOf(ThreadLocalRandom.current().nextLong())));
            assertEquals(0, fromClient.exitCode(), fromClient.toString());
            flood = fromClient.stdout().trim();
            tunWrites = writeIntoTun();
            ping();
        }
        finally
        {
            Exec.run(List.of("kill", "-INT", String.valueOf(capture.pid())));
            capture.waitFor(20_000);
            capture.stop(1000);
        }
        assertTrue(natgw.isAlive(), "natgw died under the flood:\n" + natgw.tail(20));

        final long sentFromClient = Long.parseLong(flood.split(" ")[1]);
        final int kinds = OddPackets.Kind.values().length;
        assertTrue(sentFromClient > PER_KIND_FROM_CLIENT * kinds / 2, "the client's raw socket sent too little: " + flood);
        final long rx = awaitReceived(rxBefore + tunWrites) - rxBefore;
        assertTrue(rx >= tunWrites, "natgw received " + rx + " packets; the TUN writes alone were " + tunWrites);
        final Map<String, Long> drops = Gateways.drops(lab);
        final long dropped = drops.values().stream().mapToLong(Long::longValue).sum() -
            dropsBefore.values().stream().mapToLong(Long::longValue).sum();
        assertTrue(dropped > tunWrites / 2, "natgw dropped only " + dropped + " of the flood: " + drops);

        final long[] seen = scan(Files.readAllBytes(pcap));
        assertTrue(seen[1] >= 2, "the capture on the outside link saw no translated ping (" + seen[1] + "): it sees nothing");
        assertEquals(0, seen[0], "frames with an inside source address on the outside link, of " + seen[2] +
            " IPv4 frames; client flood: " + flood + ", TUN writes: " + tunWrites + ", drops: " + drops);
    }

    /** Pings the server through natgw until one answer comes back (a translated request the capture must see). */
    private static void ping() throws Exception
    {
        final long deadlineNs = System.nanoTime() + 30_000_000_000L;
        CommandResult ping;
        do
        {
            ping = lab.exec(Role.CLIENT, "ping", "-c", "1", "-W", "2", Lab.SERVER_ADDR);
        }
        while (!ping.ok() && System.nanoTime() < deadlineNs);
        assertEquals(0, ping.exitCode(), "natgw translates through the flood: " + ping);
    }

    /** Writes every kind into natgw's TUN, outbound (inside to server) and inbound (server to the pool). */
    private static long writeIntoTun() throws Exception
    {
        final OddPackets odd = new OddPackets(new PacketBuilder());
        final SplittableRandom random = new SplittableRandom(ThreadLocalRandom.current().nextLong());
        final int inside = FlowTuple.parseAddress("10.77.1.0");
        final int server = FlowTuple.parseAddress(Lab.SERVER_ADDR);
        final int pool = FlowTuple.parseAddress(Lab.POOL_ADDR);
        final byte[] bytes = new byte[65536];
        long written = 0;
        try (PacketInjector tun = PacketInjector.open(lab.ns(Role.GW), Lab.TUN_NAME))
        {
            for (int i = 0; i < PER_KIND_INTO_TUN; i++)
            {
                for (final OddPackets.Kind kind : OddPackets.Kind.values())
                {
                    final boolean outbound = random.nextInt(4) != 0;
                    final int length = outbound ?
                        odd.build(kind, random, inside | 2 + random.nextInt(253), server) : odd.build(kind, random, server, pool);
                    if (length == 0)
                    {
                        continue; // AF_PACKET sends no empty frame
                    }
                    odd.buffer().getBytes(0, bytes, 0, length);
                    tun.send(bytes, length);
                    written++;
                }
            }
        }
        return written;
    }

    /** natgw's received packets, summed over its workers. */
    private static long received() throws Exception
    {
        final CommandResult stats = lab.exec(Role.GW, Gateways.natgwCommand("conntrack", "-S"));
        assertEquals(0, stats.exitCode(), stats.toString());
        long rx = 0;
        for (final String field : stats.stdout().split("\\s+"))
        {
            if (field.startsWith("rx_packets="))
            {
                rx += Long.parseLong(field.substring("rx_packets=".length()));
            }
        }
        return rx;
    }

    private static long awaitReceived(final long atLeast) throws Exception
    {
        final long deadlineNs = System.nanoTime() + 30_000_000_000L;
        long rx = received();
        while (rx < atLeast && System.nanoTime() < deadlineNs)
        {
            Thread.sleep(50);
            rx = received();
        }
        return rx;
    }

    /** Of a pcap's Ethernet frames: {IPv4 frames with an inside source, with the pool's source, all IPv4}. */
    static long[] scan(final byte[] pcap)
    {
        // the file's headers are in the writer's byte order, the frames in network order
        final ByteBuffer in = ByteBuffer.wrap(pcap);
        final ByteBuffer wire = ByteBuffer.wrap(pcap).order(ByteOrder.BIG_ENDIAN);
        final int magic = in.getInt(0);
        in.order(magic == 0xA1B2C3D4 || magic == 0xA1B23C4D ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
        assertEquals(1, in.getInt(20), "the capture's link type is not Ethernet");
        final Cidr inside = Cidr.parse(Lab.INSIDE_CIDR);
        final int pool = FlowTuple.parseAddress(Lab.POOL_ADDR);
        final long[] seen = new long[3];
        int at = 24;
        while (at + 16 <= pcap.length)
        {
            final int captured = in.getInt(at + 8);
            final int frame = at + 16;
            if (captured >= ETHERNET_HEADER + 20 && (wire.getShort(frame + 12) & 0xFFFF) == ETHERTYPE_IPV4)
            {
                seen[2]++;
                final int src = wire.getInt(frame + ETHERNET_HEADER + 12);
                if (inside.contains(src))
                {
                    seen[0]++;
                }
                else if (src == pool)
                {
                    seen[1]++;
                }
            }
            at = frame + captured;
        }
        return seen;
    }
}
