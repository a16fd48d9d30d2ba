package natgw.perf.jmh;

import java.util.List;

import org.agrona.concurrent.UnsafeBuffer;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.Timeouts;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.core.memory.OffHeapMemory;
import natgw.core.nat.Cidr;
import natgw.core.nat.EndpointDependence;
import natgw.core.nat.NatAllocator;
import natgw.core.nat.PortStrategy;
import natgw.core.nat.SnatPolicy;
import natgw.core.packet.PacketBuilder;
import natgw.core.packet.TcpHeader;
import natgw.core.pipeline.Pipeline;
import natgw.tun.HugePageMemory;

/**
 * The benchmarks' population: {@code n} established TCP connections through SNAT, made by running
 * each handshake (SYN, SYN-ACK, ACK) through a pipeline, as traffic would. Connection {@code i}: client
 * 10.0.0.0 + i + 1 port 40000 to server 203.0.113.(i % 200) port 443, masqueraded to 198.51.100.1.
 */
final class Flows
{
    static final int POOL = FlowTuple.parseAddress("198.51.100.1");
    static final int CLIENT_BASE = FlowTuple.parseAddress("10.0.0.1");
    static final int SERVER_BASE = FlowTuple.parseAddress("203.0.113.0");
    static final int SERVERS = 200;
    static final int CLIENT_PORT = 40000;
    static final int SERVER_PORT = 443;
    /** Connections the churn benchmarks create and kill on top of the population. */
    static final int CHURN_ROOM = 4096;
    static final long START_NS = 1_000_000_000L;

    final int count;
    final ConntrackTable table;
    final SnatPolicy snat;
    final Timeouts timeouts = new Timeouts();
    /** NAT source port of each connection. */
    final int[] natPorts;

    /** How connections get their NAT port: the benchmarks' population is made and runs with it. */
    final EndpointDependence mapping;

    /** In huge pages, as the gateway allocates its table. */
    Flows(final int count)
    {
        this(count, new HugePageMemory(), EndpointDependence.ADDRESS_AND_PORT_DEPENDENT);
    }

    /**
     * @param mapping with {@link EndpointDependence#ENDPOINT_INDEPENDENT} every connection's client endpoint has a
     *                mapping too, an entry of the table: its capacity doubles.
     */
    Flows(final int count, final OffHeapMemory memory, final EndpointDependence mapping)
    {
        this.count = count;
        this.mapping = mapping;
        final int perConnection = mapping == EndpointDependence.ENDPOINT_INDEPENDENT ? 2 : 1;
        this.table = new ConntrackTable(count * perConnection + CHURN_ROOM, 0, memory);
        this.snat = new SnatPolicy(List.of(Cidr.parse("10.0.0.0/8")), new int[]{ POOL }, 1024, 65535);
        this.natPorts = new int[count];
        final WorkerCounters counters = new WorkerCounters(0);
        final Pipeline pipeline = pipeline(0, counters, PortStrategy.RESERVE, true);
        final PacketBuilder builder = new PacketBuilder();
        final UnsafeBuffer buffer = builder.buffer();
        final TcpHeader tcp = new TcpHeader();
        for (int i = 0; i < count; i++)
        {
            final int client = client(i);
            final int server = server(i);
            int length = builder.tcp(0, client, CLIENT_PORT, server, SERVER_PORT, TcpHeader.SYN, 1000, 0, 0);
            check(pipeline.process(buffer, 0, length, START_NS), i, "SYN");
            final int natPort = tcp.wrap(buffer, 20).srcPort();
            natPorts[i] = natPort;
            length = builder.tcp(0, server, SERVER_PORT, POOL, natPort, TcpHeader.SYN | TcpHeader.ACK, 5000, 1001, 0);
            check(pipeline.process(buffer, 0, length, START_NS), i, "SYN-ACK");
            length = builder.tcp(0, client, CLIENT_PORT, server, SERVER_PORT, TcpHeader.ACK, 1001, 5001, 0);
            check(pipeline.process(buffer, 0, length, START_NS), i, "ACK");
        }
        if (table.countInUse() != count)
        {
            throw new IllegalStateException("expected " + count + " connections, table holds " + table.countInUse());
        }
    }

    Pipeline pipeline(final int worker, final WorkerCounters counters, final PortStrategy strategy, final boolean verifyL4Checksums)
    {
        return new Pipeline(table, new NatAllocator(table, strategy, counters, 0, true, 0x5EED + worker,
            strategy.isAtomic() ? mapping : EndpointDependence.ADDRESS_AND_PORT_DEPENDENT),
            snat, timeouts, counters, verifyL4Checksums);
    }

    static int client(final int i)
    {
        return CLIENT_BASE + i;
    }

    static int server(final int i)
    {
        return SERVER_BASE + i % SERVERS;
    }

    long origAddresses(final int i)
    {
        return FlowTuple.packAddresses(client(i), server(i));
    }

    long origPorts(final int i)
    {
        return FlowTuple.packPorts(6, CLIENT_PORT, SERVER_PORT);
    }

    long replyAddresses(final int i)
    {
        return FlowTuple.packAddresses(server(i), POOL);
    }

    long replyPorts(final int i)
    {
        return FlowTuple.packPorts(6, SERVER_PORT, natPorts[i]);
    }

    private static void check(final int verdict, final int i, final String what)
    {
        if (verdict != Pipeline.FORWARD)
        {
            throw new IllegalStateException(what + " of connection " + i + " dropped: reason " + verdict);
        }
    }

    /** xorshift64: per-thread pseudo-random stream, no allocation. */
    static long next(final long x)
    {
        long y = x ^ (x << 13);
        y ^= y >>> 7;
        return y ^ (y << 17);
    }

    /** Uniform index in [0, bound) from a random long (multiply-shift, no division). */
    static int index(final long random, final int bound)
    {
        return (int)(((random >>> 32) * bound) >>> 32);
    }
}
