package natgw.tun;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * One queue of a TUN device: one file descriptor, read and written by exactly one worker thread.
 * <p>
 * Batching is in the contract (as wireguard-go's {@code tun.Device}): {@link #read} fills up to
 * {@code bufs.length} buffers, packet {@code i} starting at {@code offset} in {@code bufs[i]}
 * with its length in {@code sizes[i]}. The bytes before {@code offset} are headroom, reserved for a
 * virtio-net header once IFF_VNET_HDR offloads are enabled, so callers never change when they are.
 * Every buffer must wrap native memory (a direct ByteBuffer or an address): the queue passes addresses
 * straight to read(2)/write(2).
 * <p>
 * {@link #read}, {@link #write}, {@link #awaitReadable} and {@link #wakeup} allocate nothing and throw
 * nothing for an ordinary outcome (no packet ready, a packet refused): those are return values. They
 * throw only for caller bugs (a heap buffer, a packet past the end of its buffer) and for an unexpected
 * system error. {@link #close} may be called from any thread, also while the owner is inside a call.
 */
public interface TunQueue extends AutoCloseable
{
    /** Most packets one {@link #read} call returns. */
    int batchSize();

    /**
     * Reads the packets that are ready without blocking, at most {@code min(bufs.length, batchSize())}.
     * A packet longer than {@code bufs[i].capacity() - offset} is truncated (as the kernel does).
     *
     * @return number of packets read, 0 if none is ready, -1 once the queue is closed (or its device deleted).
     */
    int read(UnsafeBuffer[] bufs, int[] sizes, int offset);

    /**
     * Writes {@code count} packets, packet {@code i} at {@code offset} in {@code bufs[i]}, {@code sizes[i]} bytes.
     * Every packet is offered: one the kernel refuses (not IPv4/IPv6, device down) does not stop the others.
     *
     * @return number of packets the device accepted; the other {@code count - accepted} were refused (counted
     * by the caller as drops). 0 once the queue is closed.
     */
    int write(UnsafeBuffer[] bufs, int[] sizes, int offset, int count);

    /**
     * Blocks until a packet is ready, {@link #wakeup()} is called, or the timeout passes.
     *
     * @param timeoutMs 0 to check without blocking; negative to wait without a timeout.
     * @return true if a packet may be ready or a wakeup came (or the queue is closed, so that the caller's
     * next {@link #read} sees -1); false only when the timeout passed with nothing to report.
     */
    boolean awaitReadable(long timeoutMs);

    /**
     * Makes a concurrent or the next {@link #awaitReadable} return at once; callable from any thread. Wakeups
     * before one await count as one.
     */
    void wakeup();

    @Override
    void close();
}
