package natgw.core.pipeline;

import java.util.List;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import natgw.core.conntrack.StatusDescriptor;
import natgw.core.conntrack.ConntrackCounter;
import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.Timeouts;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.core.nat.Cidr;
import natgw.core.nat.NatAllocator;
import natgw.core.nat.PortStrategy;
import natgw.core.nat.SnatPolicy;
import natgw.core.packet.DropReason;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.PacketBuilder;
import natgw.core.packet.TcpHeader;

import static natgw.core.flow.FlowTuple.parseAddress;
import static natgw.core.packet.TcpHeader.ACK;
import static natgw.core.packet.TcpHeader.SYN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A full table flooded with new connections (SYNs nobody answers) through the whole pipeline: established
 * connections keep every packet, and a handshake whose SYN-ACK went out finds its connection when its ACK comes.
 */
class TablePressureTest
{
    private static final int CAPACITY = 64;
    private static final int ESTABLISHED = 24;
    private static final int FLOOD = 2000;
    private static final int SERVER = parseAddress("203.0.113.9");
    private static final int POOL = parseAddress("198.51.100.1");
    private static final int CLIENT = parseAddress("10.77.1.2");
    private static final int FLOODER = parseAddress("10.77.1.66");

    private final ConntrackTable table = new ConntrackTable(CAPACITY, 0);
    private final WorkerCounters counters = new WorkerCounters(0);
    private final Pipeline pipeline = new Pipeline(table, new NatAllocator(table, PortStrategy.RESERVE, counters, 0, true, 42),
        new SnatPolicy(List.of(Cidr.parse("10.77.1.0/24")), new int[]{ POOL }, 1024, 65535), new Timeouts(), counters, true);
    private final PacketBuilder builder = new PacketBuilder();
    private final UnsafeBuffer buffer = builder.buffer();
    private long nowNs = 1_000_000_000L;

    private int process(final int length)
    {
        nowNs += 100_000L;
        return pipeline.process(buffer, 0, length, nowNs);
    }

    /** Sends a segment from CLIENT:clientPort; returns the NAT port it left with, or -1 if dropped. */
    private int out(final int clientPort, final int flags)
    {
        if (process(builder.tcp(0, CLIENT, clientPort, SERVER, 443, flags, 1000, 5001, 0)) != Pipeline.FORWARD)
        {
            return -1;
        }
        return buffer.getShort(Ipv4Header.MIN_LENGTH + TcpHeader.SRC_PORT_OFFSET, java.nio.ByteOrder.BIG_ENDIAN) & 0xFFFF;
    }

    private int in(final int natPort, final int flags)
    {
        return process(builder.tcp(0, SERVER, 443, POOL, natPort, flags, 5000, 1001, 0));
    }

    private int handshake(final int clientPort)
    {
        final int natPort = out(clientPort, SYN);
        assertEquals(Pipeline.FORWARD, in(natPort, SYN | ACK));
        assertEquals(natPort, out(clientPort, ACK));
        return natPort;
    }

    private boolean assured(final int clientPort)
    {
        final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
        return table.lookup(cursor, FlowTuple.packAddresses(CLIENT, SERVER), FlowTuple.packPorts(Ipv4Header.PROTO_TCP, clientPort, 443)) &&
            (cursor.status() & StatusDescriptor.ASSURED) != 0;
    }

    @Test
    void shouldKeepEstablishedConnectionsAndAnsweredHandshakesUnderASynFlood()
    {
        final int[] natPorts = new int[ESTABLISHED];
        for (int i = 0; i < ESTABLISHED; i++)
        {
            natPorts[i] = handshake(20000 + i);
        }
        for (int i = 0; table.countInUse() < CAPACITY - 8; i++)
        {
            process(builder.tcp(0, FLOODER, 1024 + i, SERVER, 80, SYN, 1, 0, 0)); // older than the handshake below
        }
        final int handshakePort = out(30000, SYN);
        assertEquals(Pipeline.FORWARD, in(handshakePort, SYN | ACK), "the SYN-ACK goes out: the client sees it established");

        int established = 0;
        int dropped = 0;
        for (int i = 0; i < FLOOD; i++)
        {
            if (process(builder.tcp(0, FLOODER, 40000 + i % 20000, SERVER, 80 + i / 20000, SYN, 1, 0, 0)) != Pipeline.FORWARD)
            {
                dropped++;
            }
            final int k = i % ESTABLISHED;
            established += out(20000 + k, ACK) == natPorts[k] ? 1 : 0;
            established += in(natPorts[k], ACK) == Pipeline.FORWARD ? 1 : 0;
        }

        assertEquals(2 * FLOOD, established, "packets of established connections lost under the flood");
        assertEquals(handshakePort, out(30000, ACK), "the handshake's ACK found its connection");
        assertTrue(assured(30000));
        assertEquals(CAPACITY, table.countInUse());
        assertTrue(counters.get(ConntrackCounter.EARLY_DROP) > FLOOD / 2, "the flood evicted: " + counters.get(ConntrackCounter.EARLY_DROP));
        assertEquals(0, dropped, "every SYN of the flood found an unanswered one to evict; " + DropReason.TABLE_FULL.label() + "=" + dropped);
    }
}
