package natgw.perf.jmh;

import java.util.concurrent.TimeUnit;

import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import natgw.core.conntrack.ConntrackTable;
import natgw.tun.HugePageMemory;

/**
 * The memory system's share of a packet, alone: per packet, the two random loads a lookup of an
 * established SNAT connection cannot avoid (its bucket, its entry's line, where it is also counted), over a block
 * laid out as a conntrack table of the same capacity, in huge pages. The loads of a packet and of
 * successive packets are independent, the best case for overlapping misses; no pipeline can serve
 * random traffic over a table this size faster than this rate. Packets per microsecond.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = { "-XX:+UseParallelGC", "-Xmx4g", "-Dagrona.disable.bounds.checks=true" })
@State(Scope.Thread)
public class MemoryFloorBenchmark
{
    static final int BATCH = 64;

    @Param({ "10000", "1000000" })
    int connections;

    UnsafeBuffer block;
    long bucketCount;
    int capacity;
    int entriesOffset;
    long random = 0x2545F4914F6CDD1DL;

    @Setup(Level.Trial)
    public void setUp()
    {
        capacity = connections + Flows.CHURN_ROOM;
        final int buckets = ConntrackTable.bucketCount(capacity);
        bucketCount = buckets;
        entriesOffset = buckets * 8;
        block = new HugePageMemory().allocate((int)ConntrackTable.memoryBytes(capacity), 64);
        long y = 0x9E3779B97F4A7C15L;
        for (int i = 0; i < buckets; i++)
        {
            y = Flows.next(y);
            block.putLong(i << 3, Flows.index(y, capacity));
        }
    }

    /** A bucket from a random word, as the table picks one from a hash. */
    int bucketOf(final long x)
    {
        return (int)((x & 0xFFFF_FFFFL) * bucketCount >>> 32);
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long twoLoadsPerPacket()
    {
        final UnsafeBuffer block = this.block;
        long x = random;
        long sink = 0;
        for (int i = 0; i < BATCH; i++)
        {
            x = Flows.next(x);
            final int entry = Flows.index(x, capacity);
            sink += block.getLong(bucketOf(x) << 3) +
                block.getLong(entriesOffset + entry * ConntrackTable.ENTRY_LENGTH);
        }
        random = x;
        return sink;
    }

    final int[] refs = new int[BATCH];
    final int[] bucketIndex = new int[BATCH];

    /**
     * The look-ahead's shape without the pipeline: per packet a bucket, then the entry the bucket names (a
     * dependent load), in two passes over a batch of 64, so the misses of a pass overlap.
     */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long dependentPasses()
    {
        final UnsafeBuffer block = this.block;
        final int[] refs = this.refs;
        final int[] bucketIndex = this.bucketIndex;
        long x = random;
        for (int i = 0; i < BATCH; i++)
        {
            x = Flows.next(x);
            bucketIndex[i] = bucketOf(x);
        }
        random = x;
        for (int i = 0; i < BATCH; i++)
        {
            refs[i] = (int)block.getLong(bucketIndex[i] << 3);
        }
        long sink = 0;
        for (int i = 0; i < BATCH; i++)
        {
            sink += block.getLong(entriesOffset + refs[i] * ConntrackTable.ENTRY_LENGTH);
        }
        return sink;
    }
}
