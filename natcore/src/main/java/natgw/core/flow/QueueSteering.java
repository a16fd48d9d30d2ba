package natgw.core.flow;

/**
 * The arithmetic of the TUN's steering programs, for the port search that aims a connection's replies at a queue:
 * a TCP or UDP packet's queue is the sum of its two ports' hashes (a flow's adds both addresses) modulo the queues.
 * <p>
 * Hashed, not summed as they are: Linux gives connect() ports of one parity and bind() ports of the other
 * (inet_csk_find_open_port, __inet_hash_connect), so with an even number of queues a plain sum's residue would be the
 * server port's parity, and every connection to one server port would reach one worker. A sum of per-port hashes is
 * still the same both ways for a connection that kept its port, and the search can still find a port for a queue: it
 * tests candidates, as each has its own hash.
 */
public final class QueueSteering
{
    /** An odd multiplier (2^32 / the golden ratio): a port's hash is the middle 16 bits of its 32-bit product. */
    public static final int PORT_MULTIPLIER = 0x9E3779B1;

    private QueueSteering()
    {
    }

    /** A port's hash: (port * {@link #PORT_MULTIPLIER} mod 2^32) >> 16, as the program computes it in 32 bits. */
    public static int portHash(final int port)
    {
        return port * PORT_MULTIPLIER >>> 16;
    }

    /** The queue of a packet from {@code srcPort} to {@code dstPort} steered by its ports. */
    public static int portsQueue(final int srcPort, final int dstPort, final int queues)
    {
        return (portHash(srcPort) + portHash(dstPort)) % queues;
    }

    /** The queue of a packet of this tuple steered by its flow: ports' hashes and both addresses (unsigned) summed. */
    public static int flowQueue(final long addresses, final long ports, final int queues)
    {
        final long sum = (FlowTuple.srcAddress(addresses) & 0xFFFF_FFFFL) + (FlowTuple.dstAddress(addresses) & 0xFFFF_FFFFL) +
            portHash(FlowTuple.srcPort(ports)) + portHash(FlowTuple.dstPort(ports));
        return (int)(sum % queues);
    }
}
