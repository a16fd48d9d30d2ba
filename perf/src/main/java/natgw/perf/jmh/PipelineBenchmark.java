package natgw.perf.jmh;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

import org.agrona.BitUtil;
import org.agrona.BufferUtil;
import org.agrona.UnsafeAccess;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.ThreadParams;

import natgw.core.conntrack.ConntrackCounter;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.memory.OffHeapMemory;
import natgw.core.nat.EndpointDependence;
import natgw.core.nat.PortStrategy;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.PacketBuilder;
import natgw.core.packet.TcpHeader;
import natgw.core.pipeline.Pipeline;
import natgw.tun.HugePageMemory;

import sun.misc.Unsafe;

/**
 * Whole-packet cost without I/O: {@link Pipeline#process} on established TCP connections, a random
 * connection and direction per packet (a 40-byte ACK: validate IPv4 and TCP, verify the TCP checksum
 * as the gateway does by default, look up, track, rewrite with incremental checksums).
 * <p>
 * The packets come from a ring read in order, as from a NIC or TUN ring: one 20-byte record per packet
 * (addresses, ports, IP identification, TTL and protocol, both checksums, taken from a packet built with
 * {@link PacketBuilder}) written with raw copies over a 40-byte ACK in the worker's buffer (cache-line
 * aligned, as the gateway's), which stays in cache as a real receive buffer does; the ring is a random
 * sequence over all connections and both directions. Twin
 * {@code receiveOnly} measures writing the record alone. Each thread is one worker with its own pipeline
 * over the shared table ({@code -t 1}, {@code -t 2}). Throughput is packets per microsecond = Mpps (summed
 * over threads).
 * <p>
 * {@code process} hands the pipeline one packet at a time; {@code processBatch} hands it
 * {@link Pipeline#LOOKAHEAD} packets at once, as the gateway's worker does with what one TUN read
 * returns, so the pipeline can overlap the table misses of the batch. {@code pages}: the table in 2 MiB
 * pages as the gateway has it ({@code huge}), or in the JVM's direct memory ({@code small}).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = { "-XX:+UseParallelGC", "-Xmx4g", "-XX:MaxDirectMemorySize=2g", "-Dagrona.disable.bounds.checks=true" }) // as the natgw launcher: a -jvmArgsAppend on the command line replaces these
@State(Scope.Benchmark)
public class PipelineBenchmark
{
    static final Unsafe UNSAFE = UnsafeAccess.UNSAFE;
    static final int RECORD = 20;
    static final int PACKET_LENGTH = Ipv4Header.MIN_LENGTH + TcpHeader.MIN_LENGTH;
    static final int BATCH = 64;

    @Param({ "10000", "1000000" })
    int connections;

    @Param({ "true" })
    boolean verifyL4Checksums;

    /**
     * shared: every worker sees every connection, both directions (TUN multiqueue steers by the packet's
     * own hash, and a NAT connection's two directions hash differently); byConnection: worker k only sees
     * connections i with i % threads == k, both directions (no entry shared between workers).
     */
    @Param({ "shared" })
    String steering;

    @Param({ "huge" })
    String pages;

    /** address-and-port-dependent: no mapping entries; endpoint-independent: one per connection, in the same table. */
    @Param({ "address-and-port-dependent" })
    String mapping;

    Flows flows;
    UnsafeBuffer ring;
    int packets;

    @Setup(Level.Trial)
    public void setUp()
    {
        setUp(connections);
    }

    /** The population and ring for {@code connections}, outside JMH too. */
    void setUp(final int connections)
    {
        this.connections = connections;
        flows = new Flows(connections, pages.equals("huge") ? new HugePageMemory() : OffHeapMemory.DIRECT,
            EndpointDependence.fromLabel(mapping));
        packets = 2 * connections;
        ring = ring(flows, packets, 1, 0);
    }

    /**
     * A ring of {@code packets} records, random connections (those with {@code i % modulo == remainder})
     * and directions.
     */
    static UnsafeBuffer ring(final Flows flows, final int packets, final int modulo, final int remainder)
    {
        final int connections = flows.count;
        final UnsafeBuffer ring = new UnsafeBuffer(ByteBuffer.allocateDirect(packets * RECORD));
        final PacketBuilder builder = new PacketBuilder();
        final UnsafeBuffer scratch = builder.buffer();
        long random = 0x2545F4914F6CDD1DL + remainder;
        for (int n = 0; n < packets; n++)
        {
            random = Flows.next(random);
            final int i = Flows.index(random, connections / modulo) * modulo + remainder;
            final int client = Flows.client(i);
            final int server = Flows.server(i);
            if ((random & 1) == 0)
            {
                builder.tcp(0, client, Flows.CLIENT_PORT, server, Flows.SERVER_PORT, TcpHeader.ACK, 2001, 6001, 0);
            }
            else
            {
                // same seq/ack: the record carries no TCP field but ports and checksum
                builder.tcp(0, server, Flows.SERVER_PORT, Flows.POOL, flows.natPorts[i], TcpHeader.ACK, 2001, 6001, 0);
            }
            final int r = n * RECORD;
            ring.putInt(r, scratch.getInt(Ipv4Header.SRC_ADDRESS_OFFSET));
            ring.putInt(r + 4, scratch.getInt(Ipv4Header.DST_ADDRESS_OFFSET));
            ring.putInt(r + 8, scratch.getInt(Ipv4Header.MIN_LENGTH)); // both ports
            ring.putShort(r + 12, scratch.getShort(Ipv4Header.IDENTIFICATION_OFFSET));
            ring.putInt(r + 14, scratch.getInt(Ipv4Header.TTL_OFFSET)); // TTL, protocol, checksum: the pipeline adds a hop
            ring.putShort(r + 18, scratch.getShort(Ipv4Header.MIN_LENGTH + TcpHeader.CHECKSUM_OFFSET));
        }
        return ring;
    }

    @State(Scope.Thread)
    public static class Worker
    {
        final UnsafeBuffer packet = new UnsafeBuffer(ByteBuffer.allocateDirect(2048));
        final UnsafeBuffer[] batch = new UnsafeBuffer[BATCH];
        final long[] addresses = new long[BATCH];
        final int[] lengths = new int[BATCH];
        final int[] verdicts = new int[BATCH];
        final int[] outputLengths = new int[BATCH];
        UnsafeBuffer ring;
        int packets;
        Pipeline pipeline;
        int position;
        long nowNs = Flows.START_NS;

        @Setup(Level.Trial)
        public void setUp(final PipelineBenchmark benchmark, final ThreadParams thread)
        {
            setUp(benchmark, thread.getThreadIndex(), thread.getThreadCount());
        }

        /** Worker {@code index} of {@code count}, outside JMH too ({@link PipelineSteadiness}). */
        void setUp(final PipelineBenchmark benchmark, final int index, final int count)
        {
            // every field but the record's is the same in all packets: seq/ack/flags/window/length
            new PacketBuilder(packet).tcp(0, Flows.client(0), Flows.CLIENT_PORT, Flows.server(0), Flows.SERVER_PORT,
                TcpHeader.ACK, 2001, 6001, 0);
            for (int i = 0; i < BATCH; i++)
            {
                batch[i] = new UnsafeBuffer(BufferUtil.allocateDirectAligned(2048, BitUtil.CACHE_LINE_LENGTH)); // as the gateway's
                batch[i].putBytes(0, packet, 0, PACKET_LENGTH);
                addresses[i] = batch[i].addressOffset();
                lengths[i] = PACKET_LENGTH;
            }
            if (benchmark.steering.equals("byConnection"))
            {
                packets = benchmark.packets / count;
                ring = ring(benchmark.flows, packets, count, index);
                position = 0;
            }
            else
            {
                packets = benchmark.packets;
                ring = benchmark.ring;
                position = (int)((long)packets * index / count);
            }
            pipeline = benchmark.flows.pipeline(index + 1, new WorkerCounters(index + 1),
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

        /** Writes the next packet of the ring into the receive buffer. */
        void receive()
        {
            receive(packet);
        }

        void receive(final UnsafeBuffer packet)
        {
            receive(packet.addressOffset());
        }

        /**
         * Writes the next packet of the ring at {@code address}, with raw copies, as a NIC's DMA or the
         * kernel's copy of a TUN read would: a store through a buffer object would also cost the
         * compiler's view of every field, which is the harness's cost, not the pipeline's.
         */
        void receive(final long address)
        {
            final long r = ring.addressOffset() + (long)position * RECORD;
            position = position + 1 == packets ? 0 : position + 1;
            UNSAFE.putLong(address + Ipv4Header.SRC_ADDRESS_OFFSET, UNSAFE.getLong(r)); // both addresses
            UNSAFE.putInt(address + Ipv4Header.MIN_LENGTH, UNSAFE.getInt(r + 8));
            UNSAFE.putShort(address + Ipv4Header.IDENTIFICATION_OFFSET, UNSAFE.getShort(r + 12));
            UNSAFE.putInt(address + Ipv4Header.TTL_OFFSET, UNSAFE.getInt(r + 14));
            UNSAFE.putShort(address + Ipv4Header.MIN_LENGTH + TcpHeader.CHECKSUM_OFFSET, UNSAFE.getShort(r + 18));
        }
    }

    @Benchmark
    public int process(final Worker w)
    {
        w.receive();
        return w.pipeline.process(w.packet, 0, PACKET_LENGTH, w.nowNs);
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int processBatch(final Worker w)
    {
        final long[] addresses = w.addresses;
        for (int i = 0; i < BATCH; i++)
        {
            w.receive(addresses[i]);
        }
        w.pipeline.process(w.batch, 0, w.lengths, BATCH, w.nowNs, w.verdicts, w.outputLengths);
        return w.verdicts[BATCH - 1];
    }

    @Benchmark
    public int receiveOnly(final Worker w)
    {
        w.receive();
        return w.packet.getInt(Ipv4Header.SRC_ADDRESS_OFFSET);
    }
}
