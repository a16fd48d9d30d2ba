package natgw.core.conntrack;

/**
 * The layout of a connection's status word: one int, changed only by CAS, so that a connection's phase,
 * flags, TCP state and incarnation move together (Linux keeps the first three in {@code ct->status} and
 * {@code ct->proto.tcp.state}).
 * <pre>
 *   31                                12 11      8 7  6  5  4  3 2     0
 *  +------------------------------------+---------+--+--+--+--+--+-------+
 *  |             generation             |tcp state|MP|DN|SN|AS|SR| phase |
 *  +------------------------------------+---------+--+--+--+--+--+-------+
 *   SR: SEEN_REPLY  AS: ASSURED  SN: SRC_NAT  DN: DST_NAT  MP: MAPPED
 * </pre>
 * An entry with MAPPED and neither SRC_NAT nor DST_NAT is not a connection but an endpoint mapping
 * ({@link MappingDescriptor}); a connection with MAPPED holds a use of its inside endpoint's mapping.
 * The phase is where the entry is in its life: FREE, RESERVED (private to its allocator), CONFIRMED (a
 * reader may use its translation), DYING (one killer is ending it). The generation changes every time
 * the entry is freed, so a reader that saw one incarnation can tell it from the next. The TCP state is
 * one of {@link TcpState}'s, 0 for other protocols.
 */
public final class StatusDescriptor
{
    public static final int PHASE_MASK = 0x7;
    public static final int PHASE_FREE = 0;
    public static final int PHASE_RESERVED = 1;
    public static final int PHASE_CONFIRMED = 2;
    public static final int PHASE_DYING = 3;
    /** A packet was seen in the reply direction. */
    public static final int SEEN_REPLY = 1 << 3;
    /** The connection is past its handshake (TCP) or a stream (UDP): it gets the longer timeout. */
    public static final int ASSURED = 1 << 4;
    /** The connection translates the original source. */
    public static final int SRC_NAT = 1 << 5;
    /** The connection translates the original destination (a service); its record holds the backend. */
    public static final int DST_NAT = 1 << 6;
    /**
     * On a connection: it holds a use of its inside endpoint's mapping, released when the connection is freed. Alone
     * (without SRC_NAT and DST_NAT): the entry is the mapping itself.
     */
    public static final int MAPPED = 1 << 7;
    public static final int TCP_STATE_SHIFT = 8;
    public static final int TCP_STATE_MASK = 0xF << TCP_STATE_SHIFT;
    public static final int GENERATION_SHIFT = 12;
    public static final int GENERATION_UNIT = 1 << GENERATION_SHIFT;
    public static final int GENERATION_MASK = ~(GENERATION_UNIT - 1);

    private StatusDescriptor()
    {
    }

    public static int phase(final int status)
    {
        return status & PHASE_MASK;
    }

    public static boolean isConfirmed(final int status)
    {
        return phase(status) == PHASE_CONFIRMED;
    }

    /** True if the entry is an endpoint mapping, not a connection. */
    public static boolean isMapping(final int status)
    {
        return (status & (MAPPED | SRC_NAT | DST_NAT)) == MAPPED;
    }

    public static int generation(final int status)
    {
        return status >>> GENERATION_SHIFT;
    }

    public static int tcpState(final int status)
    {
        return (status & TCP_STATE_MASK) >>> TCP_STATE_SHIFT;
    }

    public static int withTcpState(final int status, final int tcpState)
    {
        return status & ~TCP_STATE_MASK | tcpState << TCP_STATE_SHIFT;
    }
}
