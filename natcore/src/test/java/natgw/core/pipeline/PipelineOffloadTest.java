package natgw.core.pipeline;

import java.util.ArrayList;
import java.util.List;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import natgw.core.conntrack.ConntrackCounter;
import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.StatusDescriptor;
import natgw.core.conntrack.TcpState;
import natgw.core.conntrack.Timeouts;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.core.nat.AffinityTable;
import natgw.core.nat.BackendCounters;
import natgw.core.nat.Cidr;
import natgw.core.nat.NatAllocator;
import natgw.core.nat.PortStrategy;
import natgw.core.nat.Services;
import natgw.core.nat.SnatPolicy;
import natgw.core.packet.DropReason;
import natgw.core.packet.IcmpHeader;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.PacketBuilder;
import natgw.core.packet.VirtioNetHeader;
import natgw.core.testing.KernelHop;
import natgw.core.testing.ReferenceChecksum;
import natgw.core.testing.SoftwareGso;

import static natgw.core.conntrack.ConntrackTable.ORIGINAL;
import static natgw.core.conntrack.ConntrackTable.REPLY;
import static natgw.core.flow.FlowTuple.parseAddress;
import static natgw.core.packet.TcpHeader.ACK;
import static natgw.core.packet.TcpHeader.FIN;
import static natgw.core.packet.TcpHeader.PSH;
import static natgw.core.packet.TcpHeader.SYN;
import static natgw.core.packet.VirtioNetHeader.GSO_TCPV4;
import static natgw.core.packet.VirtioNetHeader.GSO_UDP_L4;
import static natgw.core.packet.VirtioNetHeader.NEEDS_CSUM;
import static natgw.core.testing.PacketAssertions.assertChecksumsValid;
import static natgw.core.testing.ReferenceChecksum.field;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The packet path with offloads on: a virtio-net header before every packet, GSO super-packets and partial
 * checksums as the kernel hands them over a TUN with TSO/USO/CSUM. Every translated super-packet is cut into its
 * segments by {@link SoftwareGso} (the kernel's part, written independently) and every segment's IP and TCP/UDP
 * checksum is recomputed in full.
 * <pre>
 *   inside 10.77.1.0/24 --[pool 198.51.100.1]-- server 203.0.113.9, service 10.96.0.10:80 -> 10.0.1.1:8080
 * </pre>
 */
class PipelineOffloadTest
{
    private static final int VNET = VirtioNetHeader.LENGTH;
    private static final int CLIENT = parseAddress("10.77.1.2");
    private static final int POOL = parseAddress("198.51.100.1");
    private static final int SERVER = parseAddress("203.0.113.9");
    private static final int ROUTER = parseAddress("192.0.2.254");
    private static final int VIP = parseAddress("10.96.0.10");
    private static final int BACKEND = parseAddress("10.0.1.1");
    private static final int MSS = 1448;
    private static final int QUOTE_AT = 40_000;

    private final ConntrackTable table = new ConntrackTable(4096, 0);
    private final WorkerCounters counters = new WorkerCounters(0);
    private final SnatPolicy snat = new SnatPolicy(List.of(Cidr.parse("10.77.1.0/24")), new int[]{ POOL }, 1024, 65535);
    private final Services services = new Services();
    private final Pipeline pipeline = new Pipeline(
        table, new NatAllocator(table, PortStrategy.RESERVE, counters, 0, true, 42), snat, new Timeouts(), counters, true,
        services, new BackendCounters(), new AffinityTable(64), true).virtioNetHeaders(true);
    private final PacketBuilder builder = new PacketBuilder();
    private final UnsafeBuffer buffer = builder.buffer();
    private final VirtioNetHeader vnet = new VirtioNetHeader();
    private final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
    private long nowNs = 1_000_000_000L;

    PipelineOffloadTest()
    {
        services.add(Services.ServiceSpec.parse("tcp:10.96.0.10:80=10.0.1.1:8080"));
        services.add(Services.ServiceSpec.parseKey("tcp:10.96.0.99:80")); // no backend: answered with a RST
    }

    // ------------------------------------------------------------------ packets as the kernel hands them over

    /** A TCP packet as a local stack sends it with offloads: the checksum a partial seed, a super-packet past one MSS. */
    private int tcp(final int src, final int srcPort, final int dst, final int dstPort, final int flags, final int seq, final int payload)
    {
        final int ipLength = builder.tcp(VNET, src, srcPort, dst, dstPort, flags, seq, 1, payload);
        final boolean gso = payload > MSS;
        seed(ipLength, 16);
        vnet.wrap(buffer, 0).clear().flags(NEEDS_CSUM).gsoType(gso ? GSO_TCPV4 : 0).gsoSize(gso ? MSS : 0)
            .hdrLen(40).csumStart(20).csumOffset(16);
        return VNET + ipLength;
    }

    private int udp(final int src, final int srcPort, final int dst, final int dstPort, final int payload, final int gsoSize)
    {
        final int ipLength = builder.udp(VNET, src, srcPort, dst, dstPort, payload);
        seed(ipLength, 6);
        vnet.wrap(buffer, 0).clear().flags(NEEDS_CSUM).gsoType(GSO_UDP_L4).gsoSize(gsoSize).hdrLen(28).csumStart(20).csumOffset(6);
        return VNET + ipLength;
    }

    /** Replaces the full L4 checksum by what CHECKSUM_PARTIAL carries: the pseudo header's sum, not inverted. */
    private void seed(final int ipLength, final int checkOffset)
    {
        final byte[] packet = ReferenceChecksum.copy(buffer, VNET, ipLength);
        final int seed = ReferenceChecksum.pseudoHeaderSum(packet, 0, ipLength - 20);
        buffer.putShort(VNET + 20 + checkOffset, (short)seed, java.nio.ByteOrder.BIG_ENDIAN);
    }

    private List<byte[]> forward(final int length)
    {
        final int verdict = pipeline.process(buffer, 0, length, nowNs += 1_000_000L);
        assertEquals(Pipeline.FORWARD, verdict, () -> "dropped: " + DropReason.get(verdict));
        final List<byte[]> segments = SoftwareGso.segment(buffer, 0, pipeline.outputLength());
        for (final byte[] segment : segments)
        {
            assertChecksumsValid(segment);
        }
        assertEquals(segments.size(), pipeline.outputSegments());
        return segments;
    }

    private static int src(final byte[] p)
    {
        return (ReferenceChecksum.field(p, 12) << 16 | ReferenceChecksum.field(p, 14));
    }

    private static int dst(final byte[] p)
    {
        return (ReferenceChecksum.field(p, 16) << 16 | ReferenceChecksum.field(p, 18));
    }

    private static byte[] payload(final List<byte[]> segments, final int headers)
    {
        int total = 0;
        for (final byte[] s : segments)
        {
            total += s.length - headers;
        }
        final byte[] all = new byte[total];
        int at = 0;
        for (final byte[] s : segments)
        {
            System.arraycopy(s, headers, all, at, s.length - headers);
            at += s.length - headers;
        }
        return all;
    }

    /** The client's connection to the server, handshake done; returns its NAT port. */
    private int establish(final int clientPort)
    {
        final byte[] syn = forward(tcp(CLIENT, clientPort, SERVER, 443, SYN, 1000, 0)).get(0);
        final int natPort = field(syn, 20);
        forward(tcp(SERVER, 443, POOL, natPort, SYN | ACK, 5000, 0));
        forward(tcp(CLIENT, clientPort, SERVER, 443, ACK, 1001, 0));
        return natPort;
    }

    // ------------------------------------------------------------------ tests

    @Test
    void shouldTranslateATcpSuperPacketOnceIntoSegmentsThatAllCheckOut()
    {
        final int natPort = establish(40001);
        final int length = tcp(CLIENT, 40001, SERVER, 443, ACK | PSH, 1001, 30 * MSS + 100);
        final byte[] sent = payload(SoftwareGso.segment(buffer, 0, length), 40);

        final List<byte[]> segments = forward(length);

        assertEquals(31, segments.size());
        for (final byte[] segment : segments)
        {
            assertEquals(POOL, src(segment));
            assertEquals(SERVER, dst(segment));
            assertEquals(natPort, field(segment, 20));
            assertEquals(443, field(segment, 22));
        }
        assertArrayEquals(sent, payload(segments, 40));
    }

    @Test
    void shouldTranslateTheReplySuperPacketBackToTheClient()
    {
        final int natPort = establish(40002);
        final List<byte[]> segments = forward(tcp(SERVER, 443, POOL, natPort, ACK, 5001, 44 * MSS));

        assertEquals(44, segments.size());
        for (final byte[] segment : segments)
        {
            assertEquals(SERVER, src(segment));
            assertEquals(CLIENT, dst(segment));
            assertEquals(40002, field(segment, 22));
        }
    }

    @Test
    void shouldCountASuperPacketAsTheSegmentsItBecomes()
    {
        establish(40003);
        final long rxBefore = counters.get(ConntrackCounter.RX_PACKETS);
        final List<byte[]> segments = forward(tcp(CLIENT, 40003, SERVER, 443, ACK, 1001, 10 * MSS + 1));

        assertTrue(table.lookup(cursor, FlowTuple.packAddresses(CLIENT, SERVER), FlowTuple.packPorts(Ipv4Header.PROTO_TCP, 40003, 443)));
        long bytes = 0;
        for (final byte[] segment : segments)
        {
            bytes += segment.length;
        }
        assertEquals(11, segments.size());
        assertEquals(2 + 11, table.packets(cursor.entry(), ORIGINAL), "SYN, ACK, then the super-packet's 11 segments");
        assertEquals(40 + 40 + bytes, table.bytes(cursor.entry(), ORIGINAL));
        assertEquals(11, counters.get(ConntrackCounter.RX_PACKETS) - rxBefore);
    }

    @Test
    void shouldTrackASuperPacketAsLinuxTracksAGsoSkb()
    {
        final int natPort = establish(40004);
        forward(tcp(CLIENT, 40004, SERVER, 443, ACK | PSH | FIN, 1001, 5 * MSS));

        assertTrue(table.lookup(cursor, FlowTuple.packAddresses(CLIENT, SERVER), FlowTuple.packPorts(Ipv4Header.PROTO_TCP, 40004, 443)));
        assertEquals(TcpState.FIN_WAIT, StatusDescriptor.tcpState(cursor.status()), "its FIN is seen once, on its header");
        forward(tcp(SERVER, 443, POOL, natPort, ACK, 5001, 3 * MSS));
        assertTrue(table.packets(cursor.entry(), REPLY) >= 4);
    }

    @Test
    void shouldTranslateAUdpSuperPacket()
    {
        final int length = udp(CLIENT, 5353, SERVER, 9000, 20 * 1400 + 7, 1400);
        final byte[] sent = payload(SoftwareGso.segment(buffer, 0, length), 28);

        final List<byte[]> segments = forward(length);

        assertEquals(21, segments.size());
        final int natPort = field(segments.get(0), 20);
        for (final byte[] segment : segments)
        {
            assertEquals(POOL, src(segment));
            assertEquals(natPort, field(segment, 20));
        }
        assertArrayEquals(sent, payload(segments, 28));

        final List<byte[]> back = forward(udp(SERVER, 9000, POOL, natPort, 8 * 1400, 1400));
        assertEquals(8, back.size());
        assertEquals(CLIENT, dst(back.get(0)));
        assertEquals(5353, field(back.get(0), 22));
    }

    @Test
    void shouldTranslateSuperPacketsToAndFromAServiceBackend()
    {
        forward(tcp(CLIENT, 40005, VIP, 80, SYN, 1000, 0));
        final List<byte[]> toBackend = forward(tcp(CLIENT, 40005, VIP, 80, ACK, 1001, 12 * MSS));
        assertEquals(12, toBackend.size());
        assertEquals(BACKEND, dst(toBackend.get(3)));
        assertEquals(8080, field(toBackend.get(3), 22));
        final int natPort = field(toBackend.get(0), 20);
        final int natSource = src(toBackend.get(0));

        final List<byte[]> fromBackend = forward(tcp(BACKEND, 8080, natSource, natPort, ACK, 7000, 9 * MSS));
        assertEquals(9, fromBackend.size());
        assertEquals(VIP, src(fromBackend.get(8)));
        assertEquals(80, field(fromBackend.get(8), 20));
        assertEquals(CLIENT, dst(fromBackend.get(8)));
    }

    @Test
    void shouldKeepFullChecksumsCorrectBehindAnEmptyHeader()
    {
        final int ipLength = builder.udp(VNET, CLIENT, 6000, SERVER, 53, 40);
        vnet.wrap(buffer, 0).clear();

        final byte[] out = forward(VNET + ipLength).get(0);

        assertEquals(POOL, src(out));
        assertEquals(0, vnet.wrap(buffer, 0).flags());
    }

    @Test
    void shouldFinishAPartialChecksumOfAnotherKindInSoftware()
    {
        // an ICMP echo handed over with its checksum to finish (csum_start at ICMP, field 2 in, seed 0)
        final int ipLength = builder.icmpEcho(VNET, CLIENT, SERVER, IcmpHeader.ECHO_REQUEST, 77, 1, 56);
        buffer.putShort(VNET + 20 + 2, (short)0);
        vnet.wrap(buffer, 0).clear().flags(NEEDS_CSUM).csumStart(20).csumOffset(2);

        final byte[] out = forward(VNET + ipLength).get(0);

        assertEquals(POOL, src(out));
        assertEquals(0, vnet.wrap(buffer, 0).flags() & NEEDS_CSUM, "finished here: nothing left for the device");
    }

    @Test
    void shouldAnswerWithAnAllZeroHeader()
    {
        final int length = tcp(CLIENT, 40006, parseAddress("10.96.0.99"), 80, SYN, 1000, 0);

        final List<byte[]> out = forward(length);

        assertEquals(1, out.size());
        final byte[] header = new byte[VNET];
        buffer.getBytes(0, header);
        assertArrayEquals(new byte[VNET], header, "a RST natgw built carries no offload");
        assertEquals(64, KernelHop.ttl(out.get(0), 0), "and starts at its own TTL: no hop given back");
        assertEquals(CLIENT, dst(out.get(0)));
        assertEquals(0x04, out.get(0)[33] & 0x04, "RST");
    }

    @Test
    void shouldGiveBackTheHopOnceOnASuperPacketAndEverySegmentCarriesIt()
    {
        final int natPort = establish(40008);
        builder.ttl(63);
        final List<byte[]> out = forward(tcp(CLIENT, 40008, SERVER, 443, ACK | PSH, 1001, 6 * MSS + 9));
        final List<byte[]> in = forward(tcp(SERVER, 443, POOL, natPort, ACK, 5001, 5 * MSS));
        final List<byte[]> udpOut = forward(udp(CLIENT, 5354, SERVER, 9000, 3 * 1400, 1400));

        assertEquals(7, out.size());
        assertEquals(5, in.size());
        assertEquals(3, udpOut.size());
        for (final List<byte[]> segments : List.of(out, in, udpOut))
        {
            for (final byte[] segment : segments)
            {
                assertEquals(64, KernelHop.ttl(segment, 0), "the super-packet's header was given the hop once");
            }
        }
    }

    @Test
    void shouldTranslateAnIcmpErrorQuotingASegmentOfASuperPacket()
    {
        establish(40007);
        final List<byte[]> segments = forward(tcp(CLIENT, 40007, SERVER, 443, ACK, 1001, 4 * MSS));
        final byte[] third = segments.get(2);
        buffer.putBytes(QUOTE_AT, third, 0, 28);
        final int ipLength = builder.icmpError(VNET, ROUTER, POOL, IcmpHeader.DEST_UNREACHABLE, 4, QUOTE_AT, 28);
        vnet.wrap(buffer, 0).clear();

        final byte[] error = forward(VNET + ipLength).get(0);

        assertEquals(CLIENT, dst(error));
        assertEquals(CLIENT, field(error, 28 + 12) << 16 | field(error, 28 + 14), "the quoted source is the client again");
        assertEquals(40007, field(error, 48));
    }

    @Test
    void shouldCarryEachSuperPacketOfABatchOutAsItsSegments()
    {
        establish(40008);
        final UnsafeBuffer[] buffers = new UnsafeBuffer[3];
        final int[] lengths = new int[3];
        final int[] payloads = {3 * MSS, 0, 17 * MSS + 5};
        for (int i = 0; i < 3; i++)
        {
            lengths[i] = tcp(CLIENT, 40008, SERVER, 443, ACK, 1001 + i, payloads[i]);
            buffers[i] = new UnsafeBuffer(java.nio.ByteBuffer.allocateDirect(65536));
            buffers[i].putBytes(0, buffer, 0, lengths[i]);
        }
        final int[] verdicts = new int[3];
        final int[] outputLengths = new int[3];
        final int[] segments = new int[3];

        pipeline.process(buffers, 0, lengths, 3, nowNs += 1_000_000L, verdicts, outputLengths, segments);

        assertArrayEquals(new int[]{Pipeline.FORWARD, Pipeline.FORWARD, Pipeline.FORWARD}, verdicts);
        assertArrayEquals(new int[]{3, 1, 18}, segments);
        assertArrayEquals(lengths, outputLengths);
        for (int i = 0; i < 3; i++)
        {
            final List<byte[]> wire = SoftwareGso.segment(buffers[i], 0, outputLengths[i]);
            assertEquals(segments[i], wire.size());
            for (final byte[] segment : wire)
            {
                assertChecksumsValid(segment);
                assertEquals(POOL, src(segment));
            }
        }
    }

    @Test
    void shouldAllocateNothingPerSuperPacketOnceWarm()
    {
        final int natPort = establish(40009);
        final UnsafeBuffer[] templates = new UnsafeBuffer[4];
        final int[] lengths = new int[templates.length];
        final int[][] packets = {{CLIENT, 40009, SERVER, 443}, {SERVER, 443, POOL, natPort}};
        for (int i = 0; i < templates.length; i++)
        {
            final int[] p = packets[i & 1];
            lengths[i] = i < 2 ? tcp(p[0], p[1], p[2], p[3], ACK, 1001 + i, 3 * MSS + i) : udp(CLIENT, 6000, SERVER, 9000, 2800, 1400);
            templates[i] = new UnsafeBuffer(java.nio.ByteBuffer.allocateDirect(8192));
            templates[i].putBytes(0, buffer, 0, lengths[i]);
        }
        final UnsafeBuffer[] batch = new UnsafeBuffer[templates.length];
        for (int i = 0; i < batch.length; i++)
        {
            batch[i] = new UnsafeBuffer(java.nio.ByteBuffer.allocateDirect(8192));
        }
        final int[] verdicts = new int[batch.length];
        final int[] outputLengths = new int[batch.length];
        final int[] segments = new int[batch.length];
        final com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean)java.lang.management.ManagementFactory.getThreadMXBean();
        final long threadId = Thread.currentThread().getId();

        long forwarded = 0;
        long allocated = Long.MAX_VALUE;
        for (int round = 0; round < 4; round++) // the first warms up; the least of the rest: the JIT may allocate once
        {
            final long before = threads.getThreadAllocatedBytes(threadId);
            for (int n = 0; n < 50_000; n++)
            {
                for (int i = 0; i < batch.length; i++)
                {
                    batch[i].putBytes(0, templates[i], 0, lengths[i]);
                }
                pipeline.process(batch, 0, lengths, batch.length, nowNs += 1000, verdicts, outputLengths, segments);
                for (int i = 0; i < batch.length; i++)
                {
                    forwarded += verdicts[i] == Pipeline.FORWARD && segments[i] > 1 ? 1 : 0;
                }
            }
            if (round > 0)
            {
                allocated = Math.min(allocated, threads.getThreadAllocatedBytes(threadId) - before);
            }
        }

        assertEquals(4L * 50_000 * batch.length, forwarded, "every super-packet forwarded as its segments");
        assertTrue(allocated < 2048, allocated + " bytes allocated over 200,000 super-packets");
    }

    @Test
    void shouldDropAHeaderThePacketContradictsWithItsReason()
    {
        final List<String> failures = new ArrayList<>();
        final String[] names = {
            "unknown flag", "hdr_len beyond the packet", "checksum field beyond the packet", "TCPv6 GSO on IPv4",
            "UFO", "TCP GSO on UDP", "UDP GSO on TCP", "GSO without NEEDS_CSUM", "gso_size 0", "unknown gso_type",
            "partial checksum before the L4 header", "GSO with the checksum elsewhere", "header only"};
        for (int c = 0; c < names.length; c++)
        {
            int length = c == 6 ? tcp(CLIENT, 41000 + c, SERVER, 443, SYN, 1, 3 * MSS) :
                c == 5 ? udp(CLIENT, 41000 + c, SERVER, 53, 3000, 1000) : tcp(CLIENT, 41000 + c, SERVER, 443, SYN, 1, 3 * MSS);
            final int ipLength = length - VNET;
            switch (c)
            {
                case 0: vnet.flags(NEEDS_CSUM | 0x10); break;
                case 1: vnet.hdrLen(ipLength + 1); break;
                case 2: vnet.csumOffset(ipLength); break;
                case 3: vnet.gsoType(VirtioNetHeader.GSO_TCPV6); break;
                case 4: vnet.gsoType(VirtioNetHeader.GSO_UDP); break;
                case 5: vnet.gsoType(GSO_TCPV4); break;
                case 6: vnet.gsoType(GSO_UDP_L4); break;
                case 7: vnet.flags(0); break;
                case 8: vnet.gsoSize(0); break;
                case 9: vnet.gsoType(9); break;
                case 10: vnet.gsoType(0).csumStart(10).csumOffset(0); break;
                case 11: vnet.csumStart(24).csumOffset(2); break;
                default: length = VNET; break;
            }
            final long before = counters.get(DropReason.BAD_VNET_HEADER) + counters.get(DropReason.TRUNCATED);
            final int verdict = pipeline.process(buffer, 0, length, nowNs += 1_000_000L);
            final DropReason expected = c == 12 ? DropReason.TRUNCATED : DropReason.BAD_VNET_HEADER;
            if (verdict != expected.id() || counters.get(DropReason.BAD_VNET_HEADER) + counters.get(DropReason.TRUNCATED) != before + 1)
            {
                failures.add(names[c] + ": " + (verdict == Pipeline.FORWARD ? "forwarded" : DropReason.get(verdict).label()));
            }
        }
        assertEquals(List.of(), failures);
        assertEquals(0, table.countInUse(), "nothing was tracked for them");
    }
}
