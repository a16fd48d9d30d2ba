package natgw.tun;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;

import org.agrona.concurrent.UnsafeBuffer;

import static natgw.tun.Native.EAGAIN;
import static natgw.tun.Native.EBADFD;
import static natgw.tun.Native.EINTR;
import static natgw.tun.Native.POLLFD_EVENTS_OFFSET;
import static natgw.tun.Native.POLLFD_REVENTS_OFFSET;
import static natgw.tun.Native.POLLFD_SIZE;
import static natgw.tun.Native.POLLIN;

/**
 * One queue of a {@link LinuxTun}: a non-blocking TUN fd, plus an eventfd that {@link #wakeup()} writes so
 * that {@link #awaitReadable} can poll(2) both.
 * <p>
 * Nothing here allocates per call: buffers reach read(2)/write(2) as addresses, the pollfd array and the
 * eventfd scratch word live in one direct buffer made at open, and EAGAIN is a return value.
 * <p>
 * Close may come from another thread while the owner is inside a call (a gateway shutting down). Closing
 * an fd that another thread is about to use is the classic fd-reuse race (the number may already name a
 * new file), so every call holds a reference: {@code state} counts calls in flight, and its sign bit marks
 * the queue closed. {@link #close()} sets the bit, wakes a poll in progress, waits for the count to drain
 * (each call is non-blocking or woken, so this is short) and only then closes the fds. The cost is two
 * uncontended atomic adds per call, against a system call of about a microsecond.
 */
final class LinuxTunQueue implements TunQueue
{
    private static final int CLOSED = Integer.MIN_VALUE;
    private static final VarHandle STATE;

    static
    {
        try
        {
            STATE = MethodHandles.lookup().findVarHandle(LinuxTunQueue.class, "state", int.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private static final int POLLFDS_OFFSET = 0;          // [0] the TUN fd, [1] the eventfd
    private static final int DRAIN_OFFSET = 2 * POLLFD_SIZE; // eventfd counter read back by the owner
    private static final int WAKE_OFFSET = DRAIN_OFFSET + 8; // constant 1, written to the eventfd by wakeup()
    private static final int SCRATCH_LENGTH = WAKE_OFFSET + 8;

    private final String deviceName;
    private final int index;
    private final int fd;
    private final int eventFd;
    private final int batchSize;
    private final UnsafeBuffer scratch;
    private final long pollfdsAddress;
    private final long drainAddress;
    private final long wakeAddress;

    @SuppressWarnings("unused") // accessed through STATE
    private volatile int state;

    LinuxTunQueue(final String deviceName, final int index, final int fd, final int eventFd, final int batchSize)
    {
        this.deviceName = deviceName;
        this.index = index;
        this.fd = fd;
        this.eventFd = eventFd;
        this.batchSize = batchSize;

        scratch = new UnsafeBuffer(ByteBuffer.allocateDirect(SCRATCH_LENGTH));
        scratch.putInt(POLLFDS_OFFSET, fd);
        scratch.putShort(POLLFDS_OFFSET + POLLFD_EVENTS_OFFSET, POLLIN);
        scratch.putInt(POLLFDS_OFFSET + POLLFD_SIZE, eventFd);
        scratch.putShort(POLLFDS_OFFSET + POLLFD_SIZE + POLLFD_EVENTS_OFFSET, POLLIN);
        scratch.putLong(WAKE_OFFSET, 1L);
        pollfdsAddress = scratch.addressOffset() + POLLFDS_OFFSET;
        drainAddress = scratch.addressOffset() + DRAIN_OFFSET;
        wakeAddress = scratch.addressOffset() + WAKE_OFFSET;
    }

    int index()
    {
        return index;
    }

    /** The TUN file descriptor, for tests. */
    int fd()
    {
        return fd;
    }

    public int batchSize()
    {
        return batchSize;
    }

    /**
     * {@inheritDoc}
     * <p>
     * Loops read(2) until EAGAIN or the batch is full; a packet longer than the buffer is truncated by the
     * kernel. Returns -1 also once the device was deleted under the queue (read fails with EBADFD).
     *
     * @throws TunException for any other read(2) failure, when no packet was read before it.
     */
    public int read(final UnsafeBuffer[] bufs, final int[] sizes, final int offset)
    {
        if (!enter())
        {
            return -1;
        }
        try
        {
            final int max = Math.min(Math.min(bufs.length, sizes.length), batchSize);
            int count = 0;
            while (count < max)
            {
                final UnsafeBuffer buf = bufs[count];
                final long n = Native.read(fd, address(buf, offset), buf.capacity() - offset);
                if (n >= 0)
                {
                    sizes[count++] = (int)n;
                    continue;
                }

                final int errno = Native.errno();
                if (EINTR == errno)
                {
                    continue;
                }
                if (EAGAIN == errno || count > 0)
                {
                    break; // an error other than EAGAIN shows again on the next call
                }
                if (EBADFD == errno)
                {
                    return -1;
                }
                throw new TunException(deviceName, errno,
                    "read from queue " + index + " of TUN device '" + deviceName + "' failed: " + Native.errnoText(errno));
            }
            return count;
        }
        finally
        {
            exit();
        }
    }

    /**
     * {@inheritDoc}
     * <p>
     * Every packet is offered to the kernel with one write(2); one the kernel refuses (not IPv4/IPv6,
     * device down, device deleted) does not stop the rest. Returns 0 once the queue is closed.
     */
    public int write(final UnsafeBuffer[] bufs, final int[] sizes, final int offset, final int count)
    {
        if (!enter())
        {
            return 0;
        }
        try
        {
            int accepted = 0;
            for (int i = 0; i < count; i++)
            {
                final UnsafeBuffer buf = bufs[i];
                final int size = sizes[i];
                if (size < 0 || offset + size > buf.capacity())
                {
                    throw new IndexOutOfBoundsException(
                        "packet " + i + ": offset " + offset + " + size " + size + " > capacity " + buf.capacity());
                }
                final long address = address(buf, offset);
                long n;
                do
                {
                    n = Native.write(fd, address, size);
                }
                while (n < 0 && EINTR == Native.errno());

                if (n >= 0)
                {
                    accepted++;
                }
            }
            return accepted;
        }
        finally
        {
            exit();
        }
    }

    /**
     * {@inheritDoc}
     * <p>
     * poll(2) on the TUN fd and the eventfd. A negative timeout waits indefinitely, 0 does not wait.
     * Returns true once the queue is closed, so that the caller's next {@link #read} sees -1.
     */
    public boolean awaitReadable(final long timeoutMs)
    {
        if (!enter())
        {
            return true;
        }
        try
        {
            final int timeout = timeoutMs < 0 ? -1 : (int)Math.min(timeoutMs, Integer.MAX_VALUE);
            final int n = Native.poll(pollfdsAddress, 2, timeout);
            if (n <= 0)
            {
                return n < 0; // 0: timed out; < 0: EINTR, a spurious "may be ready"
            }

            boolean ready = 0 != scratch.getShort(POLLFDS_OFFSET + POLLFD_REVENTS_OFFSET);
            if (0 != scratch.getShort(POLLFDS_OFFSET + POLLFD_SIZE + POLLFD_REVENTS_OFFSET))
            {
                Native.read(eventFd, drainAddress, 8); // resets the eventfd counter
                ready = true;
            }
            return ready;
        }
        finally
        {
            exit();
        }
    }

    public void wakeup()
    {
        if (enter())
        {
            try
            {
                Native.write(eventFd, wakeAddress, 8);
            }
            finally
            {
                exit();
            }
        }
    }

    /** Closes this queue's fds once no call is in flight; idempotent, callable from any thread. */
    public void close()
    {
        final int previous = (int)STATE.getAndBitwiseOr(this, CLOSED);
        if ((previous & CLOSED) != 0)
        {
            return;
        }

        Native.write(eventFd, wakeAddress, 8); // ends a poll in progress
        while ((int)STATE.getVolatile(this) != CLOSED)
        {
            Thread.yield();
        }

        final Native.LibC libc = Native.libc();
        libc.close(fd);
        libc.close(eventFd);
    }

    public String toString()
    {
        return "LinuxTunQueue{" + deviceName + "#" + index + ", fd=" + fd + "}";
    }

    private boolean enter()
    {
        if ((int)STATE.getAndAdd(this, 1) < 0)
        {
            STATE.getAndAdd(this, -1);
            return false;
        }
        return true;
    }

    private void exit()
    {
        STATE.getAndAdd(this, -1);
    }

    private static long address(final UnsafeBuffer buf, final int offset)
    {
        if (null != buf.byteArray())
        {
            throw new IllegalArgumentException("TUN I/O needs buffers over native memory (direct or address), not a heap array");
        }
        if (offset < 0 || offset > buf.capacity())
        {
            throw new IndexOutOfBoundsException("offset " + offset + " outside capacity " + buf.capacity());
        }
        return buf.addressOffset() + offset;
    }
}
