package natgw.core.nat;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.StatusDescriptor;
import natgw.core.flow.FlowTuple;
import natgw.core.flow.QueueSteering;
import natgw.core.packet.Ipv4Header;
import org.agrona.concurrent.AtomicBuffer;

/**
 * Which queue a connection's replies are to be read from, shared with the TUN's connections steering program: a
 * 16-bit word per slot of the 16-bit hash of a tuple's flow sum ({@link QueueSteering#flowHash}), holding the tag of
 * the tuple that wrote it (bits 8 to 15 of {@link QueueSteering#flowProduct}) above queue + 1, or 0. The program
 * steers a TCP or UDP packet by the hint in its slot when the tag is its own, else by the flow hash modulo the queues.
 * The worker that makes a connection writes its own queue for the connection's reply tuple before it writes the
 * connection's first packet, so a connection is read by that worker both ways whatever port NAT gave it (its
 * original direction goes by the flow hash, as its first packet did), as the kernel's automatic steering keeps a
 * plain flow on the queue of its last writer: an answer the peer sends inside that worker's write (a SYN-ACK, an ACK)
 * lands on its own queue and wakes no other worker.
 * <p>
 * The tag keeps a slot's hint to its own tuple: a new flow whose slot holds another tuple's hint goes by its flow hash,
 * so the workers that make connections stay spread as the hash spreads them, never drawn to the queue older hints
 * name. A hint, never a rule: a later connection whose reply tuple shares a slot replaces the hint (the earlier
 * connection's replies then go by their flow hash), one tuple in 256 of those that share a slot also shares its tag,
 * and a worker may write a slot while another reads it; a wrong hint only sends a packet to another worker, which finds
 * its connection in the shared table all the same. Plain writes, made only when they change what the program picks.
 */
public final class ConnectionQueueHints
{
    /** Slots: a 16-bit word each, indexed by {@link QueueSteering#flowHash}. */
    public static final int SLOTS = 1 << 16;
    /** The bytes the slots take: the map's value size. */
    public static final int BYTES = SLOTS * Short.BYTES;
    /** The most queues a hint can name. */
    public static final int MAX_QUEUES = 255;
    private final AtomicBuffer buffer;
    private final int queues;

    /**
     * @param buffer at least {@value #BYTES} bytes, zero: no hint; words in the machine's byte order, as the program
     *               reads them.
     * @param queues the TUN's queues, 1 to {@value #MAX_QUEUES}.
     */
    public ConnectionQueueHints(final AtomicBuffer buffer, final int queues)
    {
        if (buffer.capacity() < BYTES)
        {
            throw new IllegalArgumentException("connection queue hints need " + BYTES + " bytes, not " + buffer.capacity());
        }
        if (queues < 1 || queues > MAX_QUEUES)
        {
            throw new IllegalArgumentException("connection queue hints name 1 to " + MAX_QUEUES + " queues, not " + queues);
        }
        this.buffer = buffer;
        this.queues = queues;
    }

    /**
     * Steers the TCP or UDP packets of {@code addresses, ports} (a reply tuple, as its packets arrive) to {@code queue};
     * other protocols go by their addresses, and are left alone.
     */
    public void record(final long addresses, final long ports, final int queue)
    {
        final int protocol = FlowTuple.protocol(ports);
        if (protocol != Ipv4Header.PROTO_TCP && protocol != Ipv4Header.PROTO_UDP)
        {
            return;
        }
        final int product = QueueSteering.flowProduct(addresses, ports);
        if (pick(product) != queue)
        {
            buffer.putShort(index(product), (short)(tag(product) << 8 | queue + 1));
        }
    }

    /**
     * Hints for the connections {@code table} already holds (kept in a state file across a restart: a new map holds
     * no hint), each reply tuple to the queue its original direction goes to, the flow hash's. Before the workers
     * start. Returns how many connections it steered.
     */
    public int restore(final ConntrackTable table)
    {
        int restored = 0;
        for (int entry = 0, end = table.highWater(); entry < end; entry++)
        {
            final int status = table.status(entry);
            if (StatusDescriptor.isConfirmed(status) && !StatusDescriptor.isMapping(status))
            {
                final long origAddresses = table.tupleAddresses(entry, ConntrackTable.ORIGINAL);
                final long origPorts = table.tuplePorts(entry, ConntrackTable.ORIGINAL);
                record(table.tupleAddresses(entry, ConntrackTable.REPLY), table.tuplePorts(entry, ConntrackTable.REPLY),
                    QueueSteering.flowQueue(origAddresses, origPorts, queues));
                restored++;
            }
        }
        return restored;
    }

    /** The queue the program gives a TCP or UDP packet of {@code addresses, ports}. */
    public int queue(final long addresses, final long ports)
    {
        return pick(QueueSteering.flowProduct(addresses, ports));
    }

    /** The program's choice: the hint if the slot's word holds one with the tuple's tag, else the flow hash's queue. */
    private int pick(final int product)
    {
        final int word = buffer.getShort(index(product)) & 0xFFFF;
        if (word != 0 && word >>> 8 == tag(product))
        {
            return ((word & 0xFF) - 1) % queues;
        }
        return (product >>> 16) % queues;
    }

    /** The byte offset of the word of a flow product's slot (its upper 16 bits). */
    private static int index(final int product)
    {
        return (product >>> 16) * Short.BYTES;
    }

    /** A flow product's tag: its bits 8 to 15. */
    private static int tag(final int product)
    {
        return product >>> 8 & 0xFF;
    }
}
