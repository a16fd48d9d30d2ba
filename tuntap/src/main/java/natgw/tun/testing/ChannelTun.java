package natgw.tun.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import natgw.tun.LinuxTun;
import natgw.tun.TunDevice;
import natgw.tun.TunOffloads;
import natgw.tun.TunQueue;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * An in-memory {@link TunDevice} for tests, shipped next to the real one (wireguard-go's
 * {@code tun/tuntest.ChannelTUN}): the whole pipeline runs without root.
 * <p>
 * A test {@link #inject}s packets into a queue as if the kernel had routed them into the TUN; the gateway
 * reads them from that queue. What the gateway writes to a queue is kept, per queue, for
 * {@link #takeWritten}, {@link #awaitWritten} and {@link #drainWritten}. It behaves like the kernel where a
 * test could notice: {@link TunQueue#read} truncates a packet longer than the buffer, {@link TunQueue#write}
 * refuses a packet that is not IPv4 or IPv6 (version nibble), {@code awaitReadable} returns at once after
 * {@code wakeup()} (also one made before it), and after {@link #close()} read returns -1, write accepts
 * nothing and awaitReadable returns true at once. It enforces the contract as strictly as the real queue:
 * heap buffers and packets past the end of their buffer are refused with an exception, so a worker that
 * passes here does not fail on the real device.
 * <p>
 * Thread-safe: tests inject and take from their own thread while workers read and write. {@code read}
 * copies into the caller's buffers without allocating; {@code write} copies each packet into a new array.
 */
public final class ChannelTun implements TunDevice
{
    public static final int DEFAULT_MTU = 1500;

    private final String name;
    private final int mtu;
    private final Queue[] queues;

    /** {@code queueCount} queues, MTU {@value #DEFAULT_MTU}, batch size {@link LinuxTun#BATCH_SIZE}. */
    public ChannelTun(final int queueCount)
    {
        this("chtun0", queueCount, DEFAULT_MTU, LinuxTun.BATCH_SIZE);
    }

    public ChannelTun(final String name, final int queueCount, final int mtu, final int batchSize)
    {
        if (queueCount < 1)
        {
            throw new IllegalArgumentException("queueCount " + queueCount + " < 1");
        }
        if (batchSize < 1)
        {
            throw new IllegalArgumentException("batchSize " + batchSize + " < 1");
        }
        this.name = name;
        this.mtu = mtu;
        queues = new Queue[queueCount];
        for (int i = 0; i < queueCount; i++)
        {
            queues[i] = new Queue(batchSize);
        }
    }

    /** Queues packets for the gateway to read from {@code queue}, as if the kernel routed them into the TUN. */
    public void inject(final int queue, final byte[]... packets)
    {
        final Queue q = queues[queue];
        for (final byte[] packet : packets)
        {
            q.inbound.add(packet.clone());
        }
        q.signal(false);
    }

    /** Queues the {@code length} bytes at {@code offset} in {@code buffer} as one packet for {@code queue}. */
    public void inject(final int queue, final DirectBuffer buffer, final int offset, final int length)
    {
        final byte[] packet = new byte[length];
        buffer.getBytes(offset, packet);
        inject(queue, packet);
    }

    /** Packets injected into {@code queue} and not read yet. */
    public int pendingInbound(final int queue)
    {
        return queues[queue].inbound.size();
    }

    /** The oldest packet the gateway wrote to {@code queue} and no test took yet, or null. */
    public byte[] takeWritten(final int queue)
    {
        return queues[queue].outbound.poll();
    }

    /** Like {@link #takeWritten} but waits up to {@code timeoutMs} for a packet; null if none came. */
    public byte[] awaitWritten(final int queue, final long timeoutMs) throws InterruptedException
    {
        return queues[queue].outbound.poll(timeoutMs, TimeUnit.MILLISECONDS);
    }

    /** Every packet written to {@code queue} and not taken yet, oldest first. */
    public List<byte[]> drainWritten(final int queue)
    {
        final List<byte[]> packets = new ArrayList<>();
        queues[queue].outbound.drainTo(packets);
        return packets;
    }

    /** Every packet written to any queue and not taken yet, queue by queue. */
    public List<byte[]> drainWritten()
    {
        final List<byte[]> packets = new ArrayList<>();
        for (final Queue queue : queues)
        {
            queue.outbound.drainTo(packets);
        }
        return packets;
    }

    /** Packets {@code write} refused on {@code queue} because they were not IPv4 or IPv6. */
    public long refusedWrites(final int queue)
    {
        return queues[queue].refused;
    }

    public String name()
    {
        return name;
    }

    public int queueCount()
    {
        return queues.length;
    }

    public TunQueue queue(final int index)
    {
        return queues[index];
    }

    public int mtu()
    {
        return mtu;
    }

    /** Always true: the device lives and dies with this object. */
    public TunOffloads offloads()
    {
        return TunOffloads.NONE;
    }

    public boolean createdHere()
    {
        return true;
    }

    /** Closes every queue. */
    public void close()
    {
        for (final Queue queue : queues)
        {
            queue.close();
        }
    }

    private final class Queue implements TunQueue
    {
        private final int batchSize;
        private final ConcurrentLinkedQueue<byte[]> inbound = new ConcurrentLinkedQueue<>();
        private final LinkedBlockingQueue<byte[]> outbound = new LinkedBlockingQueue<>();
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition changed = lock.newCondition();
        private boolean woken;
        private volatile boolean closed;
        private volatile long refused;

        Queue(final int batchSize)
        {
            this.batchSize = batchSize;
        }

        public int batchSize()
        {
            return batchSize;
        }

        public int read(final UnsafeBuffer[] bufs, final int[] sizes, final int offset)
        {
            if (closed)
            {
                return -1;
            }
            final int max = Math.min(Math.min(bufs.length, sizes.length), batchSize);
            int count = 0;
            while (count < max)
            {
                final byte[] packet = inbound.poll();
                if (null == packet)
                {
                    break;
                }
                final UnsafeBuffer buf = bufs[count];
                checkNative(buf, offset);
                final int length = Math.min(packet.length, buf.capacity() - offset);
                buf.putBytes(offset, packet, 0, length);
                sizes[count++] = length;
            }
            return count;
        }

        public int write(final UnsafeBuffer[] bufs, final int[] sizes, final int offset, final int count)
        {
            if (closed)
            {
                return 0;
            }
            int accepted = 0;
            for (int i = 0; i < count; i++)
            {
                final int size = sizes[i];
                checkNative(bufs[i], offset);
                if (size < 0 || offset + size > bufs[i].capacity())
                {
                    throw new IndexOutOfBoundsException(
                        "packet " + i + ": offset " + offset + " + size " + size + " > capacity " + bufs[i].capacity());
                }
                final int version = size > 0 ? (bufs[i].getByte(offset) & 0xF0) >> 4 : 0;
                if (version != 4 && version != 6)
                {
                    refused++;
                    continue;
                }
                final byte[] packet = new byte[size];
                bufs[i].getBytes(offset, packet);
                outbound.add(packet);
                accepted++;
            }
            return accepted;
        }

        public boolean awaitReadable(final long timeoutMs)
        {
            long remainingNs = TimeUnit.MILLISECONDS.toNanos(Math.max(0, timeoutMs));
            lock.lock();
            try
            {
                while (!closed && !woken && inbound.isEmpty())
                {
                    if (timeoutMs >= 0 && remainingNs <= 0)
                    {
                        return false;
                    }
                    try
                    {
                        if (timeoutMs < 0)
                        {
                            changed.await();
                        }
                        else
                        {
                            remainingNs = changed.awaitNanos(remainingNs);
                        }
                    }
                    catch (final InterruptedException ex)
                    {
                        Thread.currentThread().interrupt();
                        return true;
                    }
                }
                woken = false;
                return true;
            }
            finally
            {
                lock.unlock();
            }
        }

        public void wakeup()
        {
            signal(true);
        }

        public void close()
        {
            closed = true;
            signal(false);
        }

        private void checkNative(final UnsafeBuffer buf, final int offset)
        {
            if (null != buf.byteArray())
            {
                throw new IllegalArgumentException("TUN I/O needs buffers over native memory (direct or address), not a heap array");
            }
            if (offset < 0 || offset > buf.capacity())
            {
                throw new IndexOutOfBoundsException("offset " + offset + " outside capacity " + buf.capacity());
            }
        }

        void signal(final boolean wake)
        {
            lock.lock();
            try
            {
                woken |= wake;
                changed.signalAll();
            }
            finally
            {
                lock.unlock();
            }
        }
    }
}
