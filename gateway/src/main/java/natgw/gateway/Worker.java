package natgw.gateway;

import org.agrona.BitUtil;
import org.agrona.BufferUtil;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentTerminationException;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.UnsafeBuffer;

import natgw.core.conntrack.ConntrackCounter;
import natgw.core.packet.DropReason;
import natgw.core.packet.VirtioNetHeader;
import natgw.core.pipeline.Pipeline;
import natgw.tun.ThreadSlice;
import natgw.tun.TunQueue;

/**
 * One TUN queue's worker: read a batch, run it through the pipeline, write back the packets to
 * forward. Owns its buffers, pipeline and counters; shares only the conntrack table.
 * <p>
 * The IP header of every packet starts {@link #HEADROOM} bytes into its buffer, on a cache line; with
 * offloads, the virtio-net header sits just before it, and is read and written with the packet.
 */
public final class Worker implements Agent
{
    /** Room before each packet's IP header, for a virtio-net header when offloads are on. */
    public static final int HEADROOM = 16;
    private static final int BUFFER_LENGTH = HEADROOM + 65536;

    private final int id;
    private final TunQueue queue;
    private final Pipeline pipeline;
    private final NanoClock clock;
    private final UnsafeBuffer[] rxBuffers;
    private final int[] rxSizes;
    private final int[] verdicts;
    private final int[] outputLengths;
    private final UnsafeBuffer[] txBuffers;
    private final int[] txSizes;
    private final int[] segments;
    private final int[] txSegments;
    private final int offset;
    private boolean drained;
    private long sliceNs;
    private volatile ThreadSlice slice;

    public Worker(final int id, final TunQueue queue, final Pipeline pipeline, final NanoClock clock)
    {
        this(id, queue, pipeline, clock, false);
    }

    /** @param vnetHeader the queue's packets carry a virtio-net header (offloads on): the pipeline is told so. */
    public Worker(final int id, final TunQueue queue, final Pipeline pipeline, final NanoClock clock, final boolean vnetHeader)
    {
        this.id = id;
        this.queue = queue;
        this.pipeline = pipeline.virtioNetHeaders(vnetHeader);
        this.clock = clock;
        this.offset = vnetHeader ? HEADROOM - VirtioNetHeader.LENGTH : HEADROOM;
        final int batch = queue.batchSize();
        rxBuffers = new UnsafeBuffer[batch];
        rxSizes = new int[batch];
        verdicts = new int[batch];
        outputLengths = new int[batch];
        txBuffers = new UnsafeBuffer[batch];
        txSizes = new int[batch];
        segments = new int[batch];
        txSegments = new int[batch];
        for (int i = 0; i < batch; i++)
        {
            // on a cache line: a packet's headers then span one line, not two (malloc gives 16 bytes)
            rxBuffers[i] = new UnsafeBuffer(BufferUtil.allocateDirectAligned(BitUtil.align(BUFFER_LENGTH, 4096), BitUtil.CACHE_LINE_LENGTH));
        }
    }

    /** The scheduler slice the worker's thread asks for when it starts ({@link ThreadSlice}); 0: the kernel's. */
    public Worker sliceNs(final long sliceNs)
    {
        this.sliceNs = sliceNs;
        return this;
    }

    @Override
    public void onStart()
    {
        slice = ThreadSlice.request(sliceNs);
    }

    /** What the worker's thread runs with; null until that thread has started. */
    public ThreadSlice slice()
    {
        return slice;
    }

    public int doWork()
    {
        final int read = queue.read(rxBuffers, rxSizes, offset);
        drained = read < rxBuffers.length;
        if (read <= 0)
        {
            if (read < 0)
            {
                throw new AgentTerminationException("TUN queue " + id + " closed");
            }
            pipeline.expireFragments(clock.nanoTime());
            return 0;
        }
        pipeline.process(rxBuffers, offset, rxSizes, read, clock.nanoTime(), verdicts, outputLengths, segments);
        int forward = 0;
        long rxBytes = 0;
        for (int i = 0; i < read; i++)
        {
            rxBytes += rxSizes[i];
            if (verdicts[i] == Pipeline.FORWARD)
            {
                txBuffers[forward] = rxBuffers[i];
                txSizes[forward] = outputLengths[i];
                txSegments[forward] = segments[i];
                forward++;
            }
        }
        // the sizes include the virtio-net header (offloads on): bytes are counted from the IP header
        pipeline.counters().add(ConntrackCounter.RX_BYTES, rxBytes - (long)read * (HEADROOM - offset));
        write(forward);
        // fragments held until their first fragment came in this batch: in buffers of the fragment table
        final int released = pipeline.releasedCount();
        for (int from = 0; from < released; from += txBuffers.length)
        {
            final int count = Math.min(txBuffers.length, released - from);
            for (int i = 0; i < count; i++)
            {
                txBuffers[i] = pipeline.releasedBuffer(from + i);
                txSizes[i] = pipeline.releasedLength(from + i);
                txSegments[i] = 1;
            }
            write(count);
        }
        return read;
    }

    /** Writes the first {@code forward} tx buffers and counts them: packets as on the wire, a GSO super-packet as its segments. */
    private void write(final int forward)
    {
        if (forward == 0)
        {
            return;
        }
        final int vnetLength = HEADROOM - offset;
        final int written = queue.write(txBuffers, txSizes, offset, forward);
        long writtenSegments = 0;
        long txBytes = 0;
        for (int i = 0; i < written; i++)
        {
            writtenSegments += txSegments[i];
            txBytes += txSizes[i];
        }
        pipeline.counters().add(ConntrackCounter.TX_PACKETS, writtenSegments);
        pipeline.counters().add(ConntrackCounter.TX_BYTES, txBytes - (long)written * vnetLength);
        for (int i = written; i < forward; i++)
        {
            pipeline.counters().drop(DropReason.TX_FAILED);
        }
    }

    /** True if the last {@link #doWork} read fewer packets than a batch: its read ended on an empty queue. */
    public boolean drained()
    {
        return drained;
    }

    public String roleName()
    {
        return "natgw-worker-" + id;
    }

    public Pipeline pipeline()
    {
        return pipeline;
    }
}
