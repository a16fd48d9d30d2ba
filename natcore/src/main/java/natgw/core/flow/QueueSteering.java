package natgw.core.flow;

/**
 * The arithmetic of the TUN's steering programs, for the port search that aims a connection's replies at a queue:
 * a TCP or UDP packet's queue is a hash of the sum of its two ports (a flow's sum adds both addresses), modulo the
 * queues. The sum is the same both ways for a connection that kept its port; and a port for a queue is about one of
 * every n.
 * <p>
 * Hashed, because Linux gives connect() ports of one parity and bind() ports of the other
 * (inet_csk_find_open_port, __inet_hash_connect): with an even number of queues the plain sum's residue followed the
 * ports' parities, so the connections of such clients to one server port had all but their SYNs on half the
 * workers (with two, on one). The hash (Fibonacci hashing: the sum's low 32 bits times 2^32 / phi, the
 * upper 16 bits of the product) spreads sums that differ only in their low bits; the programs compute it with the
 * same 32-bit operations.
 */
public final class QueueSteering
{
    /**
     * 2^32 / phi, odd: consecutive sums land far apart in the product's upper bits. The flows program mixes an address
     * into its kept-port hint slot with it too (KeptPortHints.slot).
     */
    public static final int MULTIPLIER = 0x9E3779B1;

    private QueueSteering()
    {
    }

    /** The queue of a packet from {@code srcPort} to {@code dstPort} steered by its ports. */
    public static int portsQueue(final int srcPort, final int dstPort, final int queues)
    {
        return queue(srcPort + dstPort, queues);
    }

    /** The queue of a packet of this tuple steered by its flow: ports and both addresses (unsigned) summed. */
    public static int flowQueue(final long addresses, final long ports, final int queues)
    {
        return flowHash(addresses, ports) % queues;
    }

    /**
     * The 16-bit hash of a tuple's flow sum (ports and both addresses), before the modulo: the slot the connections
     * program looks its hint up in (ConnectionQueueHints). The upper 16 bits of {@link #flowProduct}.
     */
    public static int flowHash(final long addresses, final long ports)
    {
        return flowProduct(addresses, ports) >>> 16;
    }

    /**
     * A tuple's flow sum (ports and both addresses, unsigned) times {@link #MULTIPLIER}, in 32 bits, as the programs
     * compute it: its upper 16 bits are the hash, bits 8 to 15 the tag a connections hint carries.
     */
    public static int flowProduct(final long addresses, final long ports)
    {
        final long sum = (FlowTuple.srcAddress(addresses) & 0xFFFF_FFFFL) + (FlowTuple.dstAddress(addresses) & 0xFFFF_FFFFL) +
            FlowTuple.srcPort(ports) + FlowTuple.dstPort(ports);
        return (int)sum * MULTIPLIER;
    }

    /**
     * The queue of a sum, as the programs compute it: its low 32 bits times {@link #MULTIPLIER} (32-bit), the upper
     * 16 bits of the product, modulo the queues.
     */
    public static int queue(final long sum, final int queues)
    {
        return ((int)sum * MULTIPLIER >>> 16) % queues;
    }
}
