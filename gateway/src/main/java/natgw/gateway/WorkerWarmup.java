package natgw.gateway;

import org.agrona.BitUtil;
import org.agrona.BufferUtil;
import org.agrona.concurrent.SystemNanoClock;
import org.agrona.concurrent.UnsafeBuffer;

import natgw.core.conntrack.ConntrackEvents;
import natgw.core.nat.PortStrategy;
import natgw.core.packet.PacketBuilder;
import natgw.core.pipeline.Warmup;
import natgw.tun.LinuxTun;
import natgw.tun.TunQueue;

/**
 * Warms what runs around the pipeline: a {@link Worker}'s read, batch and write, and its {@link TunIdleStrategy},
 * on batches of every size, the empty read that ends a batch, and full batches that do not. {@link Warmup} sends
 * its packets to the pipeline alone; a worker that then idles until the first real packet is compiled as a loop
 * that never reads one, and the first packets deoptimise it (an {@code unstable_if} trap in {@code Worker.doWork}
 * and {@code TunIdleStrategy.idle}, then a recompilation in the middle of the first connections).
 * <p>
 * The worker reads from a queue that replays prebuilt datagrams and writes to one that forgets them, over a scratch
 * pipeline and table: nothing reaches the gateway's table or a device.
 */
final class WorkerWarmup
{
    /** Batches: enough for the compiler's thresholds, about a tenth of a second. */
    static final int BATCHES = 12_000;

    private WorkerWarmup()
    {
    }

    /** Returns the packets the worker forwarded. */
    static long run(final PortStrategy strategy, final boolean vnetHeaders, final ConntrackEvents events, final long busyPollNs)
    {
        final Warmup.Scratch scratch = Warmup.scratch(strategy, vnetHeaders, events);
        final ReplayQueue queue = new ReplayQueue(scratch);
        final Worker worker = new Worker(0, queue, scratch.pipeline(), SystemNanoClock.INSTANCE, vnetHeaders);
        final TunIdleStrategy idle = TunIdleStrategy.forWorker(queue, 0, busyPollNs, SystemNanoClock.INSTANCE, worker);
        for (int batch = 0; batch < BATCHES; batch++)
        {
            queue.offer(packetsIn(batch));
            idle.idle(worker.doWork());
            idle.idle(worker.doWork()); // the read that finds the queue empty
            if (batch % 256 == 255)
            {
                scratch.expireAll(); // new flows again, through the same packets
            }
        }
        return queue.written;
    }

    /** Packets in batch {@code batch}: mostly small, as connections come; every 16th full, as a bulk flow fills them. */
    static int packetsIn(final int batch)
    {
        return (batch & 15) == 15 ? LinuxTun.BATCH_SIZE : 1 + (batch & 7);
    }

    /** Hands over the next {@code offer}ed packets of a ring of prebuilt datagrams; takes every write. */
    private static final class ReplayQueue implements TunQueue
    {
        private static final int SLOT = 128;
        private final UnsafeBuffer ring;
        private final int[] lengths = new int[Warmup.Scratch.FLOWS];
        private int next;
        private int pending;
        long written;

        ReplayQueue(final Warmup.Scratch scratch)
        {
            ring = new UnsafeBuffer(BufferUtil.allocateDirectAligned(SLOT * Warmup.Scratch.FLOWS, BitUtil.CACHE_LINE_LENGTH));
            final PacketBuilder packets = new PacketBuilder(ring);
            for (int flow = 0; flow < lengths.length; flow++)
            {
                lengths[flow] = scratch.datagram(packets, flow * SLOT, flow);
            }
        }

        void offer(final int count)
        {
            pending = count;
        }

        public int batchSize()
        {
            return LinuxTun.BATCH_SIZE;
        }

        public int read(final UnsafeBuffer[] bufs, final int[] sizes, final int offset)
        {
            final int count = Math.min(pending, bufs.length);
            for (int i = 0; i < count; i++)
            {
                bufs[i].putBytes(offset, ring, next * SLOT, lengths[next]);
                sizes[i] = lengths[next];
                next = next + 1 == lengths.length ? 0 : next + 1;
            }
            pending -= count;
            return count;
        }

        public int write(final UnsafeBuffer[] bufs, final int[] sizes, final int offset, final int count)
        {
            written += count;
            return count;
        }

        public boolean awaitReadable(final long timeoutMs)
        {
            return pending > 0;
        }

        public void wakeup()
        {
        }

        public void close()
        {
        }
    }
}
