package natgw.tun;

/**
 * The offloads a TUN device runs with: whether every packet carries a virtio-net header (IFF_VNET_HDR), and the
 * TUNSETOFFLOAD flags the kernel accepted, which decide what it may hand over unfinished: a partial checksum
 * ({@link #CSUM}), TCP super-packets ({@link #TSO4}, {@link #TSO6}, {@link #TSO_ECN}), UDP super-packets
 * ({@link #USO4}, {@link #USO6}: Linux 6.2).
 */
public final class TunOffloads
{
    public static final int CSUM = 0x01;
    public static final int TSO4 = 0x02;
    public static final int TSO6 = 0x04;
    public static final int TSO_ECN = 0x08;
    public static final int USO4 = 0x20;
    public static final int USO6 = 0x40;

    /** What natgw asks for, then each set a kernel may accept instead, the widest first. */
    static final int[] REQUESTS = {
        CSUM | TSO4 | TSO6 | TSO_ECN | USO4 | USO6,
        CSUM | TSO4 | TSO6 | TSO_ECN,
        CSUM | TSO4 | TSO6,
        CSUM,
    };

    /** Plain packets, no virtio-net header. */
    public static final TunOffloads NONE = new TunOffloads(false, 0);

    private static final int[] FLAGS = {CSUM, TSO4, TSO6, TSO_ECN, USO4, USO6};
    private static final String[] NAMES = {"csum", "tso4", "tso6", "tso_ecn", "uso4", "uso6"};

    private final boolean vnetHeader;
    private final int flags;

    TunOffloads(final boolean vnetHeader, final int flags)
    {
        this.vnetHeader = vnetHeader;
        this.flags = flags;
    }

    /** True if every packet read and written starts with a virtio-net header. */
    public boolean vnetHeader()
    {
        return vnetHeader;
    }

    /** The TUNSETOFFLOAD flags in force. */
    public int flags()
    {
        return flags;
    }

    public boolean has(final int flag)
    {
        return (flags & flag) == flag;
    }

    /** The names of the flags in force, as in {@code ethtool -k}'s spirit: "csum,tso4,tso6,tso_ecn,uso4,uso6", or "off". */
    public String names()
    {
        if (!vnetHeader)
        {
            return "off";
        }
        final StringBuilder sb = new StringBuilder();
        for (int i = 0; i < FLAGS.length; i++)
        {
            if ((flags & FLAGS[i]) != 0)
            {
                sb.append(sb.length() == 0 ? "" : ",").append(NAMES[i]);
            }
        }
        return sb.length() == 0 ? "vnet header only" : sb.toString();
    }

    /** Every flag name natgw knows, for metrics that list each as 0 or 1. */
    public static String[] allNames()
    {
        return NAMES.clone();
    }

    /** The flag of {@code allNames()[index]}. */
    public static int flagAt(final int index)
    {
        return FLAGS[index];
    }

    public String toString()
    {
        return "TunOffloads{" + names() + "}";
    }
}
