package natgw.core.pipeline;

import java.nio.ByteBuffer;
import java.util.List;

import org.agrona.concurrent.UnsafeBuffer;

import natgw.core.conntrack.ConntrackTable;
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
import natgw.core.packet.Checksum;
import natgw.core.packet.IcmpHeader;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.PacketBuilder;
import natgw.core.packet.TcpHeader;
import natgw.core.packet.UdpHeader;
import natgw.core.packet.VirtioNetHeader;

/**
 * Runs synthetic traffic through a private pipeline before a gateway takes real packets, so the JIT
 * has compiled the packet path: without it the first thousands of packets run interpreted, and the
 * first connections through a fresh gateway take tens of milliseconds. Nothing here touches the
 * gateway's own table or counters.
 */
public final class Warmup
{
    private static final int CLIENT_BASE = FlowTuple.parseAddress("10.255.0.1");
    private static final int POOL = FlowTuple.parseAddress("192.0.2.1");
    private static final int SERVER = FlowTuple.parseAddress("198.51.100.1");
    private static final int VIP = FlowTuple.parseAddress("203.0.113.1");
    private static final int BACKEND = FlowTuple.parseAddress("198.51.100.2");

    private Warmup()
    {
    }

    /** Sends {@code rounds} rounds of a few flows (TCP handshake and data, UDP, ICMP echo and errors, DNAT). */
    public static long run(final PortStrategy strategy, final int rounds)
    {
        return run(strategy, rounds, false);
    }

    /**
     * As {@link #run(PortStrategy, int)}; with {@code vnetHeaders}, as a gateway with offloads sees its traffic: a
     * virtio-net header before every packet, TCP and UDP with partial checksums, data as GSO super-packets.
     */
    public static long run(final PortStrategy strategy, final int rounds, final boolean vnetHeaders)
    {
        final ConntrackTable table = new ConntrackTable(8192, 0); // a round's connections, and their endpoints' mappings
        final WorkerCounters counters = new WorkerCounters(0);
        final Services services = new Services();
        services.add(Services.ServiceSpec.parse("tcp:203.0.113.1:80=198.51.100.2:8080"));
        final Pipeline pipeline = new Pipeline(table, new NatAllocator(table, strategy, counters, 0, true, 7, NatAllocator.defaultMapping(strategy)),
            new SnatPolicy(List.of(new Cidr(CLIENT_BASE, 16)), new int[]{ POOL }, 1024, 65535), new Timeouts(), counters,
            true, services, new BackendCounters(), new AffinityTable(64), true).virtioNetHeaders(vnetHeaders);
        final int vnet = vnetHeaders ? VirtioNetHeader.LENGTH : 0;
        final PacketBuilder packets = new PacketBuilder(new UnsafeBuffer(ByteBuffer.allocateDirect(65536)));
        final UnsafeBuffer buffer = packets.buffer();
        final Offloaded offloaded = new Offloaded(buffer, vnet);
        final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
        final OnePacket one = new OnePacket();
        long forwarded = 0;
        long nowNs = 1_000_000_000L;
        for (int r = 0; r < rounds; r++)
        {
            final int client = CLIENT_BASE + (r & 0xFF);
            final int port = 20000 + (r & 0x3FFF);
            nowNs += 1000;
            int natPort;
            // TCP: handshake, data both ways (super-packets with offloads), FIN
            forwarded += forward(pipeline, one, buffer, offloaded.tcp(packets.tcp(vnet, client, port, SERVER, 443, TcpHeader.SYN, r, 0, 0)), nowNs);
            natPort = buffer.getShort(vnet + 20, java.nio.ByteOrder.BIG_ENDIAN) & 0xFFFF;
            forwarded += forward(pipeline, one, buffer, offloaded.tcp(packets.tcp(vnet, SERVER, 443, POOL, natPort, TcpHeader.SYN | TcpHeader.ACK, 7, r + 1, 0)), nowNs);
            forwarded += forward(pipeline, one, buffer, offloaded.tcp(packets.tcp(vnet, client, port, SERVER, 443, TcpHeader.ACK, r + 1, 8, 100)), nowNs);
            forwarded += forward(pipeline, one, buffer, offloaded.tcp(packets.tcp(vnet, SERVER, 443, POOL, natPort, TcpHeader.ACK, 8, r + 101,
                vnetHeaders && (r & 3) == 0 ? 8 * Offloaded.MSS : 1200)), nowNs);
            forwarded += forward(pipeline, one, buffer, offloaded.tcp(packets.tcp(vnet, client, port, SERVER, 443, TcpHeader.FIN | TcpHeader.ACK, r + 101, 1208, 0)), nowNs);
            // UDP and its port unreachable
            forwarded += forward(pipeline, one, buffer, offloaded.udp(packets.udp(vnet, client, port, SERVER, 53, 32)), nowNs);
            natPort = buffer.getShort(vnet + 20, java.nio.ByteOrder.BIG_ENDIAN) & 0xFFFF;
            final int quoted = packets.udp(8192, POOL, natPort, SERVER, 53, 32);
            forwarded += forward(pipeline, one, buffer, offloaded.plain(
                packets.icmpError(vnet, SERVER, POOL, IcmpHeader.DEST_UNREACHABLE, IcmpHeader.CODE_PORT_UNREACHABLE, 8192, Math.min(quoted, 28))), nowNs);
            // ICMP echo
            forwarded += forward(pipeline, one, buffer, offloaded.plain(packets.icmpEcho(vnet, client, SERVER, IcmpHeader.ECHO_REQUEST, port, r & 0xFFFF, 56)), nowNs);
            final int natId = buffer.getShort(vnet + 24, java.nio.ByteOrder.BIG_ENDIAN) & 0xFFFF;
            forwarded += forward(pipeline, one, buffer, offloaded.plain(packets.icmpEcho(vnet, SERVER, POOL, IcmpHeader.ECHO_REPLY, natId, r & 0xFFFF, 56)), nowNs);
            // DNAT
            forwarded += forward(pipeline, one, buffer, offloaded.tcp(packets.tcp(vnet, client, port, VIP, 80, TcpHeader.SYN, r, 0, 0)), nowNs);
            if ((r & 1023) == 1023)
            {
                for (int entry = 0; entry < table.capacity(); entry++)
                {
                    table.kill(cursor, entry, table.status(entry));
                }
            }
        }
        return forwarded;
    }

    /** Through the batch entry point, the one the gateway's workers call: a batch of one, as each packet needs the last's output. */
    private static long forward(final Pipeline pipeline, final OnePacket one, final UnsafeBuffer buffer, final int length, final long nowNs)
    {
        one.buffers[0] = buffer;
        one.lengths[0] = length;
        pipeline.process(one.buffers, 0, one.lengths, 1, nowNs, one.verdicts, one.outputLengths, one.segments);
        return one.verdicts[0] == Pipeline.FORWARD ? 1 : 0;
    }

    private static final class OnePacket
    {
        final UnsafeBuffer[] buffers = new UnsafeBuffer[1];
        final int[] lengths = new int[1];
        final int[] verdicts = new int[1];
        final int[] outputLengths = new int[1];
        final int[] segments = new int[1];
    }

    /**
     * Puts the virtio-net header a TUN with offloads would put before a packet built at {@code vnet}: TCP and UDP
     * with their checksum left partial (the pseudo header's sum), a GSO super-packet past one MSS. Without a
     * header ({@code vnet} 0) the packet stays as built.
     */
    private static final class Offloaded
    {
        static final int MSS = 1448;
        private final UnsafeBuffer buffer;
        private final int vnet;
        private final VirtioNetHeader header = new VirtioNetHeader();

        Offloaded(final UnsafeBuffer buffer, final int vnet)
        {
            this.buffer = buffer;
            this.vnet = vnet;
        }

        int tcp(final int ipLength)
        {
            if (vnet == 0)
            {
                return ipLength;
            }
            final int l4Length = ipLength - 20;
            final int payload = l4Length - TcpHeader.MIN_LENGTH;
            partial(ipLength, TcpHeader.CHECKSUM_OFFSET, Ipv4Header.PROTO_TCP);
            header.gsoType(payload > MSS ? VirtioNetHeader.GSO_TCPV4 : VirtioNetHeader.GSO_NONE).gsoSize(payload > MSS ? MSS : 0)
                .hdrLen(40);
            return vnet + ipLength;
        }

        int udp(final int ipLength)
        {
            if (vnet == 0)
            {
                return ipLength;
            }
            partial(ipLength, UdpHeader.CHECKSUM_OFFSET, Ipv4Header.PROTO_UDP);
            header.hdrLen(28);
            return vnet + ipLength;
        }

        int plain(final int ipLength)
        {
            if (vnet == 0)
            {
                return ipLength;
            }
            header.wrap(buffer, 0).clear();
            return vnet + ipLength;
        }

        private void partial(final int ipLength, final int checkOffset, final int protocol)
        {
            final int src = buffer.getInt(vnet + Ipv4Header.SRC_ADDRESS_OFFSET, java.nio.ByteOrder.BIG_ENDIAN);
            final int dst = buffer.getInt(vnet + Ipv4Header.DST_ADDRESS_OFFSET, java.nio.ByteOrder.BIG_ENDIAN);
            final int seed = ~Checksum.finish(Checksum.pseudoHeaderSum(src, dst, protocol, ipLength - 20)) & 0xFFFF;
            buffer.putShort(vnet + 20 + checkOffset, (short)seed, java.nio.ByteOrder.BIG_ENDIAN);
            header.wrap(buffer, 0).clear().flags(VirtioNetHeader.NEEDS_CSUM).csumStart(20).csumOffset(checkOffset);
        }
    }
}
