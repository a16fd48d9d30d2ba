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
import natgw.core.packet.IcmpHeader;
import natgw.core.packet.PacketBuilder;
import natgw.core.packet.TcpHeader;

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
        final ConntrackTable table = new ConntrackTable(4096, 0);
        final WorkerCounters counters = new WorkerCounters(0);
        final Services services = new Services();
        services.add(Services.ServiceSpec.parse("tcp:203.0.113.1:80=198.51.100.2:8080"));
        final Pipeline pipeline = new Pipeline(table, new NatAllocator(table, strategy, counters, 0, true, 7),
            new SnatPolicy(List.of(new Cidr(CLIENT_BASE, 16)), new int[]{ POOL }, 1024, 65535), new Timeouts(), counters,
            true, services, new BackendCounters(), new AffinityTable(64), true);
        final PacketBuilder packets = new PacketBuilder(new UnsafeBuffer(ByteBuffer.allocateDirect(4096)));
        final UnsafeBuffer buffer = packets.buffer();
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
            // TCP: handshake, data both ways, FIN
            forwarded += forward(pipeline, one, buffer, packets.tcp(0, client, port, SERVER, 443, TcpHeader.SYN, r, 0, 0), nowNs);
            natPort = buffer.getShort(20, java.nio.ByteOrder.BIG_ENDIAN) & 0xFFFF;
            forwarded += forward(pipeline, one, buffer, packets.tcp(0, SERVER, 443, POOL, natPort, TcpHeader.SYN | TcpHeader.ACK, 7, r + 1, 0), nowNs);
            forwarded += forward(pipeline, one, buffer, packets.tcp(0, client, port, SERVER, 443, TcpHeader.ACK, r + 1, 8, 100), nowNs);
            forwarded += forward(pipeline, one, buffer, packets.tcp(0, SERVER, 443, POOL, natPort, TcpHeader.ACK, 8, r + 101, 1200), nowNs);
            forwarded += forward(pipeline, one, buffer, packets.tcp(0, client, port, SERVER, 443, TcpHeader.FIN | TcpHeader.ACK, r + 101, 1208, 0), nowNs);
            // UDP and its port unreachable
            forwarded += forward(pipeline, one, buffer, packets.udp(0, client, port, SERVER, 53, 32), nowNs);
            natPort = buffer.getShort(20, java.nio.ByteOrder.BIG_ENDIAN) & 0xFFFF;
            final int quoted = packets.udp(2048, POOL, natPort, SERVER, 53, 32);
            forwarded += forward(pipeline, one, buffer,
                packets.icmpError(0, SERVER, POOL, IcmpHeader.DEST_UNREACHABLE, IcmpHeader.CODE_PORT_UNREACHABLE, 2048, Math.min(quoted, 28)), nowNs);
            // ICMP echo
            forwarded += forward(pipeline, one, buffer, packets.icmpEcho(0, client, SERVER, IcmpHeader.ECHO_REQUEST, port, r & 0xFFFF, 56), nowNs);
            final int natId = buffer.getShort(24, java.nio.ByteOrder.BIG_ENDIAN) & 0xFFFF;
            forwarded += forward(pipeline, one, buffer, packets.icmpEcho(0, SERVER, POOL, IcmpHeader.ECHO_REPLY, natId, r & 0xFFFF, 56), nowNs);
            // DNAT
            forwarded += forward(pipeline, one, buffer, packets.tcp(0, client, port, VIP, 80, TcpHeader.SYN, r, 0, 0), nowNs);
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
        pipeline.process(one.buffers, 0, one.lengths, 1, nowNs, one.verdicts, one.outputLengths);
        return one.verdicts[0] == Pipeline.FORWARD ? 1 : 0;
    }

    private static final class OnePacket
    {
        final UnsafeBuffer[] buffers = new UnsafeBuffer[1];
        final int[] lengths = new int[1];
        final int[] verdicts = new int[1];
        final int[] outputLengths = new int[1];
    }
}
