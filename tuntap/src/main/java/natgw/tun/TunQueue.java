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
 */
public interface TunQueue extends AutoCloseable
{
    /** Most packets one {@link #read} call returns. */
    int batchSize();

    /**
     * Reads the packets that are ready without blocking.
     *
     * @return number of packets read, 0 if none is ready, -1 once the queue is closed.
     */
    int read(UnsafeBuffer[] bufs, int[] sizes, int offset);

    /**
     * Writes {@code count} packets, packet {@code i} at {@code offset} in {@code bufs[i]}, {@code sizes[i]} bytes.
     *
     * @return number of packets the device accepted; the rest were refused by the kernel (counted by the caller).
     */
    int write(UnsafeBuffer[] bufs, int[] sizes, int offset, int count);

    /**
     * Blocks until a packet is ready, {@link #wakeup()} is called, or the timeout passes.
     *
     * @return true if a packet may be ready.
     */
    boolean awaitReadable(long timeoutMs);

    /** Makes a concurrent or the next {@link #awaitReadable} return at once; callable from any thread. */
    void wakeup();

    @Override
    void close();
}
