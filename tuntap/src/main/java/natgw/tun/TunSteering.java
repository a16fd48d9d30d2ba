package natgw.tun;

/**
 * How a multi-queue TUN picks the queue (so the worker) that reads a packet: {@link #KERNEL}, the kernel's
 * automatic flow steering, or {@link #PORTS}, a socket-filter eBPF program set with TUNSETSTEERINGEBPF.
 * <p>
 * Automatic steering hashes every packet natgw writes (to learn which queue a flow's replies should go to) and
 * looks every packet to be read up in a flow table of at most 4,096 entries (MAX_TAP_FLOWS), which a gateway
 * making thousands of connections a second keeps full; a NATed connection's two directions are two flows to it,
 * so half of the replies reach another worker than the one that made the connection. The program instead steers
 * a TCP or UDP packet by the sum of its two ports (a SYN's addresses added): the two directions of a connection whose
 * port the NAT kept give the same sum, so they are read by the same worker, and nothing is hashed or learnt per
 * packet written. {@link PortSteeringProgram#program} has the whole rule.
 */
public enum TunSteering
{
    /** The ports' sum, modulo the queues ({@link PortSteeringProgram#program}). */
    PORTS("ports"),
    /** The kernel's automatic flow steering: a flow table learnt from what is written. */
    KERNEL("kernel");

    private final String label;

    TunSteering(final String label)
    {
        this.label = label;
    }

    /** As the option and the start line write it. */
    public String label()
    {
        return label;
    }
}
