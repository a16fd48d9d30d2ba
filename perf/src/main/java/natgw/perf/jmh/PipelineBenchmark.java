package natgw.perf.jmh;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

import org.agrona.concurrent.UnsafeBuffer;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.ThreadParams;

import natgw.core.conntrack.ConntrackCounter;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.nat.PortStrategy;
import natgw.core.packet.PacketBuilder;
import natgw.core.packet.TcpHeader;
import natgw.core.pipeline.Pipeline;

/**
 * Whole-packet cost without I/O: {@link Pipeline#process} on established TCP connections, a random
 * connection and direction per packet (a 40-byte ACK: validate IPv4 and TCP, verify the TCP checksum
 * as the gateway does by default, look up, track, rewrite with incremental checksums). Every packet is
 * first copied from its pre-built template (one 64-byte slot per connection and direction) into the
 * worker's buffer, since process rewrites in place; twin {@code copyOnly} measures that copy alone.
 * Each thread is one worker with its own pipeline over the shared table ({@code -t 1}, {@code -t 2}).
 * Throughput is packets per microsecond = Mpps (summed over threads).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = { "-XX:+UseParallelGC", "-Xmx4g", "-XX:MaxDirectMemorySize=2g" }) // GC as the natgw launcher
@State(Scope.Benchmark)
public class PipelineBenchmark
{
    static final int SLOT = 64;

    @Param({ "10000", "1000000" })
    int connections;

    @Param({ "true" })
    boolean verifyL4Checksums;

    Flows flows;
    UnsafeBuffer templates;
    int[] lengths;

    @Setup(Level.Trial)
    public void setUp()
    {
        flows = new Flows(connections);
        templates = new UnsafeBuffer(ByteBuffer.allocateDirect(2 * connections * SLOT));
        lengths = new int[2 * connections];
        final PacketBuilder builder = new PacketBuilder(templates);
        for (int i = 0; i < connections; i++)
        {
            final int client = Flows.client(i);
            final int server = Flows.server(i);
            lengths[2 * i] = builder.tcp(2 * i * SLOT, client, Flows.CLIENT_PORT, server, Flows.SERVER_PORT,
                TcpHeader.ACK, 2001, 6001, 0);
            lengths[2 * i + 1] = builder.tcp((2 * i + 1) * SLOT, server, Flows.SERVER_PORT, Flows.POOL, flows.natPorts[i],
                TcpHeader.ACK, 6001, 2001, 0);
        }
    }

    @State(Scope.Thread)
    public static class Worker
    {
        final UnsafeBuffer packet = new UnsafeBuffer(ByteBuffer.allocateDirect(2048));
        Pipeline pipeline;
        long random;
        long nowNs = Flows.START_NS;

        @Setup(Level.Trial)
        public void setUp(final PipelineBenchmark benchmark, final ThreadParams thread)
        {
            random = 0x9E3779B97F4A7C15L * (thread.getThreadIndex() + 1);
            pipeline = benchmark.flows.pipeline(thread.getThreadIndex() + 1, new WorkerCounters(thread.getThreadIndex() + 1),
                PortStrategy.RESERVE, benchmark.verifyL4Checksums);
        }

        /** The worker reads its clock once per batch, not per packet: one tick per iteration here. */
        @Setup(Level.Iteration)
        public void tick()
        {
            nowNs += 1_000_000_000L;
        }

        @TearDown(Level.Iteration)
        public void checkVerdicts()
        {
            if (pipeline.counters().get(ConntrackCounter.DROPPED) != 0)
            {
                throw new IllegalStateException("the pipeline dropped packets: " + pipeline.counters().statsLine());
            }
        }

        int nextSlot(final int slots)
        {
            random = Flows.next(random);
            return Flows.index(random, slots);
        }
    }

    @Benchmark
    public int process(final Worker w)
    {
        final int slot = w.nextSlot(lengths.length);
        final int length = lengths[slot];
        w.packet.putBytes(0, templates, slot * SLOT, length);
        return w.pipeline.process(w.packet, 0, length, w.nowNs);
    }

    @Benchmark
    public int copyOnly(final Worker w)
    {
        final int slot = w.nextSlot(lengths.length);
        final int length = lengths[slot];
        w.packet.putBytes(0, templates, slot * SLOT, length);
        return w.packet.getInt(12);
    }
}
