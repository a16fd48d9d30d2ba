package natgw.core.nat;

import natgw.core.flow.QueueSteering;
import org.agrona.concurrent.AtomicBuffer;

/**
 * Whether the newest connection of an inside endpoint kept its source port through the NAT: a byte per slot of
 * (address, port), shared with the TUN's flow steering program, which reads it for every packet in the original
 * direction. A kept port's replies come to the queue of its ports' sum (no port was chosen to aim them), so that
 * connection's originals go there too; any other connection's originals go by their addresses and ports, spread as
 * the kernel's flow hash spreads them, and its chosen port aims its replies at the same queue.
 * <p>
 * A hint, never a rule: two endpoints may share a slot, and a worker may write a slot while another reads it; a
 * wrong byte only sends a packet to another worker, which finds its connection in the shared table all the same.
 * Plain byte writes, written only when they change, so that the slot's cache line is not dirtied per connection.
 */
public final class KeptPortHints
{
    /** Slots: one byte each, indexed by {@link #slot}. */
    public static final int SLOTS = 1 << 16;
    private final AtomicBuffer buffer;

    /** @param buffer at least {@value #SLOTS} bytes, zero: no endpoint kept its port. */
    public KeptPortHints(final AtomicBuffer buffer)
    {
        if (buffer.capacity() < SLOTS)
        {
            throw new IllegalArgumentException("kept-port hints need " + SLOTS + " bytes, not " + buffer.capacity());
        }
        this.buffer = buffer;
    }

    /**
     * The slot of an inside endpoint: (address * {@link QueueSteering#MULTIPLIER} + port) mod 65,536, as the program
     * computes it.
     */
    public static int slot(final int address, final int port)
    {
        return address * QueueSteering.MULTIPLIER + port & 0xFFFF;
    }

    /** Records whether the newest connection from {@code address:port} kept its port. */
    public void record(final int address, final int port, final boolean kept)
    {
        final int slot = slot(address, port);
        final byte value = kept ? (byte)1 : 0;
        if (buffer.getByte(slot) != value)
        {
            buffer.putByte(slot, value);
        }
    }

    /** What the program reads for {@code address:port}. */
    public boolean kept(final int address, final int port)
    {
        return buffer.getByte(slot(address, port)) != 0;
    }
}
