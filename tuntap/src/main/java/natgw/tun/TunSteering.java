package natgw.tun;

/**
 * How a multi-queue TUN picks the queue (so the worker) that reads a packet: {@link #KERNEL}, the kernel's
 * automatic flow steering, or a socket-filter eBPF program set with TUNSETSTEERINGEBPF: {@link #CONNECTIONS} (the
 * default), {@link #PORTS} or {@link #FLOWS}.
 * <p>
 * Automatic steering hashes every packet natgw writes (to learn which queue a flow's replies should go to) and
 * looks every packet to be read up in a flow table of at most 4,096 entries (MAX_TAP_FLOWS), which a gateway
 * making thousands of connections a second keeps full; a NATed connection's two directions are two flows to it,
 * so half of the replies reach another worker than the one that made the connection. {@link #CONNECTIONS} steers
 * every TCP or UDP packet by a hint the worker that made its connection wrote for its reply tuple into a map the
 * program reads, else by its flow: a connection on that worker both ways, whatever port NAT gave it
 * ({@link PortSteeringProgram#connectionProgram}). {@link #PORTS} steers by a hash of the sum of the two ports (a
 * SYN's addresses added): the two directions of a connection whose port the NAT kept give the same sum, and the port
 * search aims a chosen port's replies at its own queue ({@link PortSteeringProgram#program}). {@link #FLOWS} spreads
 * the original direction of every connection whose port NAT chose by its addresses too (one client port to one
 * server from many clients, incident 1's storm, then spreads over the workers) and steers the replies to the pool by
 * ports, where the port search aims them; a connection that kept its port goes by its ports both ways.
 */
public enum TunSteering
{
    /** A hash of the ports' sum, modulo the queues ({@link PortSteeringProgram#program}). */
    PORTS("ports"),
    /**
     * A flow's original direction by its ports' and addresses' sum, replies to the NAT pool by the ports' (hashed)
     * ({@link PortSteeringProgram#flowProgram}).
     */
    FLOWS("flows"),
    /**
     * Every TCP or UDP packet by the hint its worker wrote for its connection's reply tuple, else by its flow
     * ({@link PortSteeringProgram#connectionProgram}): a connection on the worker that made it, both ways.
     */
    CONNECTIONS("connections"),
    /** The kernel's automatic flow steering: a flow table learnt from what is written. */
    KERNEL("kernel");

    private final String label;

    TunSteering(final String label)
    {
        this.label = label;
    }

    /** The steering a label names; {@code flag} names the option in the error for any other value. */
    public static TunSteering parse(final String flag, final String value)
    {
        for (final TunSteering steering : values())
        {
            if (steering.label.equals(value))
            {
                return steering;
            }
        }
        final StringBuilder labels = new StringBuilder();
        for (final TunSteering steering : values())
        {
            labels.append(labels.length() == 0 ? "" : ", ").append(steering.label);
        }
        throw new IllegalArgumentException(flag + ": '" + value + "' is none of " + labels + "; give one of them");
    }

    /** As the option and the start line write it. */
    public String label()
    {
        return label;
    }
}
