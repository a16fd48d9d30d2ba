package natgw.core.nat;

/**
 * How a NAT source port is chosen and committed.
 * <ul>
 *   <li>{@link #RESERVE}: natgw's. Keeps the source port when free, else searches from a random
 *   offset; every candidate is claimed atomically in the table before the packet is rewritten, so
 *   two connections can never be given one tuple and no packet is dropped for a clash.</li>
 *   <li>{@link #KERNEL}: Linux nf_nat's default, race included: check the candidate against
 *   confirmed connections only, rewrite, insert at confirm time; a clash there is insert_failed.</li>
 *   <li>{@link #RANDOM}: nf_nat with NF_NAT_RANGE_PROTO_RANDOM: no port preservation, search offset
 *   from a keyed hash of the addresses and destination port (as kernels before 5.x did).</li>
 *   <li>{@link #RANDOM_FULLY}: NF_NAT_RANGE_PROTO_RANDOM_FULLY: no preservation, random offset.</li>
 * </ul>
 */
public enum PortStrategy
{
    RESERVE("reserve", true, true),
    KERNEL("kernel", false, true),
    RANDOM("random", false, false),
    RANDOM_FULLY("random-fully", false, false);

    private final String label;
    private final boolean atomic;
    private final boolean preservesPort;

    PortStrategy(final String label, final boolean atomic, final boolean preservesPort)
    {
        this.label = label;
        this.atomic = atomic;
        this.preservesPort = preservesPort;
    }

    public String label()
    {
        return label;
    }

    /** True if candidates are claimed in the table as they are tried (no check-then-insert window). */
    public boolean isAtomic()
    {
        return atomic;
    }

    public boolean preservesPort()
    {
        return preservesPort;
    }

    public static PortStrategy fromLabel(final String label)
    {
        for (final PortStrategy s : values())
        {
            if (s.label.equals(label))
            {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown port strategy '" + label + "'; use reserve, kernel, random or random-fully");
    }
}
