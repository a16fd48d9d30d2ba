package natgw.perf.pressure;

import java.nio.ByteOrder;
import java.util.List;
import java.util.SplittableRandom;

import org.agrona.concurrent.UnsafeBuffer;

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
import natgw.core.pipeline.Pipeline;

import static natgw.core.flow.FlowTuple.parseAddress;
import static natgw.core.packet.TcpHeader.ACK;
import static natgw.core.packet.TcpHeader.SYN;

/**
 * A full conntrack table under a flood of new TCP connections, through one worker's pipeline, no OS involved:
 * {@code java -cp perf/target/benchmarks.jar natgw.perf.pressure.TablePressure [CAPACITY ESTABLISHED FLOOD]}.
 * ESTABLISHED connections complete their handshake first; then every flood packet is a SYN of a new connection
 * from a new inside address and port (nobody answers, except every {@value #ANSWERED_EVERY}th, whose SYN-ACK goes
 * out at once and whose ACK comes {@value #ACK_DELAY} flood packets later, then a RST: a short connection),
 * followed by one data packet of an
 * established connection, the two directions in turn. Reports what the established connections lost, how many
 * answered handshakes found their connection at the ACK, early drops, table_full drops and packets per second.
 * The same run without the SYNs (the established traffic alone) is the baseline twin for the rate.
 */
public final class TablePressure
{
    static final int ANSWERED_EVERY = 50;
    static final int ACK_DELAY = 2000;
    /** The answered handshakes' server port: apart from the established connections' 443, whose NAT ports they fill. */
    static final int HANDSHAKE_PORT = 8443;
    private static final int SERVER = parseAddress("203.0.113.9");
    private static final int POOL = parseAddress("198.51.100.1");
    private static final int INSIDE_BASE = parseAddress("10.0.0.0");
    private static final int ESTABLISHED_BASE = parseAddress("10.200.0.0");
    private static final long STEP_NS = 1_000L;

    private final ConntrackTable table;
    private final WorkerCounters counters = new WorkerCounters(0);
    private final Pipeline pipeline;
    private final PacketBuilder builder = new PacketBuilder();
    private final UnsafeBuffer buffer = builder.buffer();
    private final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
    private long nowNs = 1_000_000_000L;

    private TablePressure(final int capacity)
    {
        table = new ConntrackTable(capacity, 0);
        pipeline = new Pipeline(table, new NatAllocator(table, PortStrategy.RESERVE, counters, 0, true, 42),
            new SnatPolicy(List.of(Cidr.parse("10.0.0.0/8")), new int[]{ POOL }, 1024, 65535), new Timeouts(), counters, true);
    }

    public static void main(final String[] args)
    {
        final int capacity = args.length > 0 ? Integer.parseInt(args[0]) : 65536;
        final int established = args.length > 1 ? Integer.parseInt(args[1]) : 40000;
        final int flood = args.length > 2 ? Integer.parseInt(args[2]) : 2_000_000;
        System.out.println("capacity=" + capacity + " established=" + established + " flood=" + flood +
            " answered_every=" + ANSWERED_EVERY + " ack_delay=" + ACK_DELAY);
        for (int round = 0; round < 3; round++)
        {
            System.out.println("round " + round + " flood:    " + new TablePressure(capacity).run(established, flood, true));
            System.out.println("round " + round + " baseline: " + new TablePressure(capacity).run(established, flood, false));
        }
    }

    private String run(final int established, final int flood, final boolean withSyns)
    {
        final int[] natPorts = new int[established];
        for (int i = 0; i < established; i++)
        {
            natPorts[i] = handshake(ESTABLISHED_BASE + i, 20000);
        }
        final int[] pendingAddress = new int[ACK_DELAY / ANSWERED_EVERY];
        final int[] pendingNatPort = new int[pendingAddress.length];
        final SplittableRandom random = new SplittableRandom(7);
        long establishedSent = 0;
        long establishedLost = 0;
        long answered = 0;
        long completed = 0;
        final long startNs = System.nanoTime();
        long packets = 0;
        for (int i = 0; i < flood; i++)
        {
            if (withSyns)
            {
                final int client = INSIDE_BASE | random.nextInt(1 << 22);
                final int clientPort = 1024 + random.nextInt(60000);
                packets++;
                // to any of the server's ports, so the pool's ports for one destination never run out first
                final int natPort = out(client, clientPort, 1 + random.nextInt(65535), SYN);
                if (i % ANSWERED_EVERY == 0)
                {
                    final int slot = i / ANSWERED_EVERY % pendingAddress.length;
                    if (i >= ACK_DELAY)
                    {
                        // the ACK of the handshake answered ACK_DELAY packets ago; completed if it found that
                        // connection (an evicted one would be picked up anew, unassured)
                        packets++;
                        if (out(pendingAddress[slot], 30000, HANDSHAKE_PORT, ACK) == pendingNatPort[slot] &&
                            pendingNatPort[slot] >= 0 && assured(pendingAddress[slot]))
                        {
                            completed++;
                        }
                        packets++;
                        out(pendingAddress[slot], 30000, HANDSHAKE_PORT, TcpHeader.RST | ACK); // a short connection ends
                    }
                    pendingAddress[slot] = client;
                    pendingNatPort[slot] = -1;
                    if (natPort >= 0)
                    {
                        // re-send as the handshake's own SYN from port 30000, answered by the server
                        packets += 2;
                        final int handshakePort = out(client, 30000, HANDSHAKE_PORT, SYN);
                        if (handshakePort >= 0 && in(HANDSHAKE_PORT, handshakePort, SYN | ACK) == Pipeline.FORWARD)
                        {
                            pendingNatPort[slot] = handshakePort;
                            if (i + ACK_DELAY < flood)
                            {
                                answered++;
                            }
                        }
                    }
                }
            }
            final int k = i % established;
            packets++;
            establishedSent++;
            if (i % 2 == 0)
            {
                establishedLost += out(ESTABLISHED_BASE + k, 20000, 443, ACK) == natPorts[k] ? 0 : 1;
            }
            else
            {
                establishedLost += in(natPorts[k], ACK) == Pipeline.FORWARD ? 0 : 1;
            }
        }
        final double seconds = (System.nanoTime() - startNs) / 1e9;
        return String.format("established_sent=%d established_lost=%d handshakes_answered=%d handshakes_completed=%d " +
            "early_drop=%d table_full=%d pool_exhausted=%d insert_failed=%d in_use=%d packets=%d mpps=%.2f",
            establishedSent, establishedLost, answered, completed,
            counters.get(ConntrackCounter.EARLY_DROP), counters.get(DropReason.TABLE_FULL), counters.get(DropReason.POOL_EXHAUSTED),
            counters.get(DropReason.INSERT_FAILED), table.countInUse(), packets,
            packets / seconds / 1e6);
    }

    private int handshake(final int client, final int clientPort)
    {
        final int natPort = out(client, clientPort, 443, SYN);
        if (natPort < 0 || in(natPort, SYN | ACK) != Pipeline.FORWARD || out(client, clientPort, 443, ACK) != natPort)
        {
            throw new IllegalStateException("the table is too small for the established connections");
        }
        return natPort;
    }

    private boolean assured(final int client)
    {
        return table.lookup(cursor, FlowTuple.packAddresses(client, SERVER), FlowTuple.packPorts(Ipv4Header.PROTO_TCP, 30000, HANDSHAKE_PORT)) &&
            (cursor.status() & StatusDescriptor.ASSURED) != 0;
    }

    /** A segment from inside; returns the NAT port it left with, or -1 if it was dropped. */
    private int out(final int client, final int clientPort, final int serverPort, final int flags)
    {
        nowNs += STEP_NS;
        final int length = builder.tcp(0, client, clientPort, SERVER, serverPort, flags, 1000, 5001, 0);
        if (pipeline.process(buffer, 0, length, nowNs) != Pipeline.FORWARD)
        {
            return -1;
        }
        return buffer.getShort(Ipv4Header.MIN_LENGTH + TcpHeader.SRC_PORT_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF;
    }

    private int in(final int natPort, final int flags)
    {
        return in(443, natPort, flags);
    }

    private int in(final int serverPort, final int natPort, final int flags)
    {
        nowNs += STEP_NS;
        return pipeline.process(buffer, 0, builder.tcp(0, SERVER, serverPort, POOL, natPort, flags, 5000, 1001, 0), nowNs);
    }
}
