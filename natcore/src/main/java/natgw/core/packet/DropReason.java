package natgw.core.packet;

/**
 * Why a packet was dropped. Every drop is counted under exactly one reason; ids are stable because
 * they are exported as counters.
 */
public enum DropReason
{
    TRUNCATED(0, "truncated"),
    BAD_VERSION(1, "bad_version"),
    BAD_HEADER_LENGTH(2, "bad_header_length"),
    BAD_TOTAL_LENGTH(3, "bad_total_length"),
    BAD_HEADER_CHECKSUM(4, "bad_header_checksum"),
    TTL_EXPIRED(5, "ttl_expired"),
    UNSUPPORTED_PROTOCOL(6, "unsupported_protocol"),
    /** A fragment natgw does not translate: of an ICMP error, or of a datagram whose first fragment was answered, not forwarded. */
    FRAGMENT(7, "fragment"),
    BAD_L4_LENGTH(8, "bad_l4_length"),
    BAD_L4_CHECKSUM(9, "bad_l4_checksum"),
    UNSUPPORTED_ICMP(10, "unsupported_icmp"),
    BAD_EMBEDDED_PACKET(11, "bad_embedded_packet"),
    NO_MAPPING(12, "no_mapping"),
    POOL_EXHAUSTED(13, "pool_exhausted"),
    TABLE_FULL(14, "table_full"),
    INSERT_FAILED(15, "insert_failed"),
    NO_BACKEND(16, "no_backend"),
    TX_FAILED(17, "tx_failed"),
    TCP_INVALID_NEW(18, "tcp_invalid_new"),
    /** A virtio-net header (offloads on) the packet behind it contradicts: unknown flags or GSO type, a length beyond the packet. */
    BAD_VNET_HEADER(19, "bad_vnet_header"),
    /** From outside to a live mapping, refused by the filtering behaviour (RFC 4787 section 5). */
    FILTERED(20, "filtered"),
    /** A new connection's reply tuple, fixed by its endpoint's mapping, is held by another of the endpoint's connections. */
    MAPPING_CLASH(21, "mapping_clash"),
    /** A fragment that overlaps another of its datagram or lies past its end (the datagram is dropped), or repeats one (dropped alone). */
    FRAGMENT_OVERLAP(22, "fragment_overlap"),
    /** A fragment with no room to wait for its first fragment (held per source, held in all, pieces per datagram, trains). */
    FRAGMENT_LIMIT(23, "fragment_limit"),
    /** A held fragment whose first fragment did not come before the fragment timeout. */
    FRAGMENT_TIMEOUT(24, "fragment_timeout"),
    /** A fragment that would make its datagram longer than 65535 bytes. */
    FRAGMENT_OVERSIZE(25, "fragment_oversize");

    /** One more than the highest id: the slots a counter array indexed by id needs. */
    public static final int COUNT = maxId() + 1;
    private static final DropReason[] VALUES = byId();

    private final int id;
    private final String label;

    DropReason(final int id, final String label)
    {
        this.id = id;
        this.label = label;
    }

    public int id()
    {
        return id;
    }

    public String label()
    {
        return label;
    }

    public static DropReason get(final int id)
    {
        return VALUES[id];
    }

    private static int maxId()
    {
        int max = 0;
        for (final DropReason reason : values())
        {
            max = Math.max(max, reason.id);
        }
        return max;
    }

    private static DropReason[] byId()
    {
        final DropReason[] byId = new DropReason[maxId() + 1];
        for (final DropReason reason : values())
        {
            byId[reason.id] = reason;
        }
        return byId;
    }
}
