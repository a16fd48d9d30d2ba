package natgw.core.flow;

/**
 * The arithmetic of the TUN's steering programs, for the port search that aims a connection's replies at a queue:
 * a TCP or UDP packet's queue is the sum of its two ports (a flow's adds both addresses) modulo the queues. The same
 * both ways for a connection that kept its port; and a port for a queue is one of every n.
 * <p>
 * With an even number of queues the sum's residue follows the ports' parities, and Linux gives bind() ports of one
 * parity and connect() ports of the other (inet_csk_find_open_port, __inet_hash_connect): all the connections of
 * such clients to one server port then reach one worker, for all but their SYNs. Hashing each port first spreads
 * them, but put the handshakes behind the bulk on both workers: the short connections' connect p50 went from
 * 1.21-1.28x the TUN ceiling's to 1.52x in the lab (docs/BENCHMARKS.md), so the sum stays.
 */
public final class QueueSteering
{
    private QueueSteering()
    {
    }

    /** The queue of a packet from {@code srcPort} to {@code dstPort} steered by its ports. */
    public static int portsQueue(final int srcPort, final int dstPort, final int queues)
    {
        return (srcPort + dstPort) % queues;
    }

    /** The queue of a packet of this tuple steered by its flow: ports and both addresses (unsigned) summed. */
    public static int flowQueue(final long addresses, final long ports, final int queues)
    {
        final long sum = (FlowTuple.srcAddress(addresses) & 0xFFFF_FFFFL) + (FlowTuple.dstAddress(addresses) & 0xFFFF_FFFFL) +
            FlowTuple.srcPort(ports) + FlowTuple.dstPort(ports);
        return (int)(sum % queues);
    }
}
