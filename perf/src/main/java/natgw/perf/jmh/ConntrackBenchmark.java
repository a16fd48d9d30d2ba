package natgw.perf.jmh;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.ThreadParams;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.StatusDescriptor;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.core.nat.NatAllocator;
import natgw.core.nat.PortStrategy;

/**
 * The conntrack table alone, with {@code connections} established connections in it.
 * <ul>
 *   <li>{@code lookup}: a random tuple of a random connection, either direction, as a packet does;
 *   twin {@code lookupConcurrentHashMap}: the JDK's concurrent map holding the same tuples.</li>
 *   <li>{@code createKill}: the table's whole protocol for one connection (allocate, initialise,
 *   claim REPLY, confirm, claim ORIGINAL) and its kill, so the table stays at its size.</li>
 *   <li>{@code connectKillReserve}: the same through {@link NatAllocator} ({@code reserve}: port kept,
 *   claimed atomically); twin {@code connectKillKernel}: the kernel's check-then-insert.</li>
 * </ul>
 * Run at 1 and 2 threads with {@code -t 1} / {@code -t 2}; each thread creates its own clients' flows.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = { "-XX:+UseParallelGC", "-Xmx4g", "-XX:MaxDirectMemorySize=2g", "-Dagrona.disable.bounds.checks=true" }) // as the natgw launcher: a -jvmArgsAppend on the command line replaces these
@State(Scope.Benchmark)
public class ConntrackBenchmark
{
    @Param({ "10000", "1000000" })
    int connections;

    Flows flows;
    long[] tupleAddresses;
    long[] tuplePorts;
    ConcurrentHashMap<TupleKey, Integer> map;
    TupleKey[] keys;

    /** The JDK twin's key: two longs, as the table's. */
    record TupleKey(long addresses, long ports)
    {
    }

    @Setup(Level.Trial)
    public void setUp()
    {
        flows = new Flows(connections);
        tupleAddresses = new long[2 * connections];
        tuplePorts = new long[2 * connections];
        keys = new TupleKey[2 * connections];
        map = new ConcurrentHashMap<>(4 * connections);
        for (int i = 0; i < connections; i++)
        {
            tupleAddresses[2 * i] = flows.origAddresses(i);
            tuplePorts[2 * i] = flows.origPorts(i);
            tupleAddresses[2 * i + 1] = flows.replyAddresses(i);
            tuplePorts[2 * i + 1] = flows.replyPorts(i);
            for (int d = 0; d < 2; d++)
            {
                keys[2 * i + d] = new TupleKey(tupleAddresses[2 * i + d], tuplePorts[2 * i + d]);
                map.put(keys[2 * i + d], i);
            }
        }
    }

    @State(Scope.Thread)
    public static class Worker
    {
        final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
        long random;
        int clientBase;
        int next;
        NatAllocator reserve;
        NatAllocator kernel;

        @Setup(Level.Trial)
        public void setUp(final ConntrackBenchmark benchmark, final ThreadParams thread)
        {
            random = 0x9E3779B97F4A7C15L * (thread.getThreadIndex() + 1);
            // churn clients live in 11.t.0.0/16, apart from the population and from other threads
            clientBase = FlowTuple.parseAddress("11.0.0.0") + (thread.getThreadIndex() << 16);
            final ConntrackTable table = benchmark.flows.table;
            reserve = new NatAllocator(table, PortStrategy.RESERVE, new WorkerCounters(thread.getThreadIndex()), 0, true, random);
            kernel = new NatAllocator(table, PortStrategy.KERNEL, new WorkerCounters(thread.getThreadIndex()), 0, true, random);
        }

        int nextIndex(final int bound)
        {
            random = Flows.next(random);
            return Flows.index(random, bound);
        }

        int nextClient()
        {
            next = (next + 1) & 0xFFFF;
            return clientBase + next;
        }
    }

    @Benchmark
    public int lookup(final Worker w)
    {
        final int i = w.nextIndex(tupleAddresses.length);
        final ConntrackTable table = flows.table;
        return table.lookup(w.cursor, tupleAddresses[i], tuplePorts[i]) ? w.cursor.entry() : -1;
    }

    @Benchmark
    public Integer lookupConcurrentHashMap(final Worker w)
    {
        return map.get(keys[w.nextIndex(keys.length)]);
    }

    @Benchmark
    public boolean createKill(final Worker w)
    {
        final ConntrackTable table = flows.table;
        final int client = w.nextClient();
        final int entry = table.allocate();
        table.initialise(entry,
            FlowTuple.packAddresses(client, Flows.SERVER_BASE), FlowTuple.packPorts(6, Flows.CLIENT_PORT, Flows.SERVER_PORT),
            FlowTuple.packAddresses(Flows.SERVER_BASE, client), FlowTuple.packPorts(6, Flows.SERVER_PORT, Flows.CLIENT_PORT),
            StatusDescriptor.SRC_NAT, 0, 120_000);
        table.claim(w.cursor, entry, ConntrackTable.REPLY);
        table.confirm(entry);
        table.claim(w.cursor, entry, ConntrackTable.ORIGINAL);
        return table.kill(w.cursor, entry, table.status(entry));
    }

    @Benchmark
    public boolean connectKillReserve(final Worker w)
    {
        return connectKill(w, w.reserve);
    }

    @Benchmark
    public boolean connectKillKernel(final Worker w)
    {
        return connectKill(w, w.kernel);
    }

    private boolean connectKill(final Worker w, final NatAllocator allocator)
    {
        final ConntrackTable table = flows.table;
        final int client = w.nextClient();
        final int entry = allocator.connect(w.cursor,
            FlowTuple.packAddresses(client, Flows.SERVER_BASE), FlowTuple.packPorts(6, Flows.CLIENT_PORT, Flows.SERVER_PORT),
            Flows.POOL, Flows.SERVER_BASE, Flows.SERVER_PORT, 1024, 65535, StatusDescriptor.SRC_NAT, 0, 120_000);
        return entry >= 0 && table.kill(w.cursor, entry, table.status(entry));
    }
}
