package natgw.core.nat;

import natgw.core.flow.QueueSteering;
import org.agrona.concurrent.AtomicBuffer;

/**
 * Which queue a connection's replies are to be read from: a byte per slot of the 16-bit hash of a tuple's flow sum
 * ({@link QueueSteering#flowHash}), queue + 1, 0 for none, shared with the TUN's connections steering program. The
 * program steers every TCP and UDP packet by the hint of its own tuple's slot and, without one, by the flow hash
 * modulo the queues; the worker that makes a connection writes its own queue into the slot of the reply tuple before
 * it writes the connection's first packet. So a connection is read by the worker that made it both ways, whatever
 * port NAT gave it, as the kernel's automatic steering keeps a plain flow on the queue of its last writer: an answer
 * the peer sends inside that worker's write (a SYN-ACK, an ACK) lands on its own queue and wakes no other worker.
 * <p>
 * A hint, never a rule: two connections may share a slot, and a worker may write a slot while another reads it; a
 * wrong byte only sends a packet to another worker, which finds its connection in the shared table all the same.
 * Plain byte writes, written only when they change, so that a slot's cache line is not dirtied per connection.
 */
public final class ConnectionQueueHints
{
    /** Slots: one byte each, indexed by {@link QueueSteering#flowHash}. */
    public static final int SLOTS = 1 << 16;
    /** The most queues a hint byte can name. */
    public static final int MAX_QUEUES = 255;
    private final AtomicBuffer buffer;
    private final int queues;

    /**
     * @param buffer at least {@value #SLOTS} bytes, zero: no hint.
     * @param queues the TUN's queues, 1 to {@value #MAX_QUEUES}.
     */
    public ConnectionQueueHints(final AtomicBuffer buffer, final int queues)
    {
        if (buffer.capacity() < SLOTS)
        {
            throw new IllegalArgumentException("connection queue hints need " + SLOTS + " bytes, not " + buffer.capacity());
        }
        if (queues < 1 || queues > MAX_QUEUES)
        {
            throw new IllegalArgumentException("connection queue hints name 1 to " + MAX_QUEUES + " queues, not " + queues);
        }
        this.buffer = buffer;
        this.queues = queues;
    }

    /** Steers the packets of {@code addresses, ports} (a reply tuple, as its packets arrive) to {@code queue}. */
    public void record(final long addresses, final long ports, final int queue)
    {
        final int slot = QueueSteering.flowHash(addresses, ports);
        final int current = buffer.getByte(slot) & 0xFF;
        // no hint needed where the flow hash already gives the queue; an older hint there is overwritten
        final int value = current == 0 && slot % queues == queue ? 0 : queue + 1;
        if (current != value)
        {
            buffer.putByte(slot, (byte)value);
        }
    }

    /** The queue the program gives a packet of {@code addresses, ports}. */
    public int queue(final long addresses, final long ports)
    {
        final int slot = QueueSteering.flowHash(addresses, ports);
        final int hint = buffer.getByte(slot) & 0xFF;
        return hint != 0 ? (hint - 1) % queues : slot % queues;
    }
}
