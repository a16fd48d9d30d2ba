package natgw.core.conntrack;

/**
 * Per-worker counters. Names follow {@code conntrack -S} where the meaning is the same; the rest are
 * natgw's own. Ids are stable: they index the counter buffers and the metrics.
 */
public enum ConntrackCounter
{
    FOUND(0, "found", "lookups that found a connection"),
    INVALID(1, "invalid", "packets not valid in their connection's TCP state (translated anyway)"),
    INSERT(2, "insert", "connections created"),
    INSERT_FAILED(3, "insert_failed", "new connections that lost an insert race (kernel strategies only)"),
    DROP(4, "drop", "packets dropped because their connection could not be created"),
    EARLY_DROP(5, "early_drop", "unassured connections evicted to make room"),
    SEARCH_RESTART(6, "search_restart", "table walks restarted after a concurrent change"),
    CLASH_RESOLVE(7, "clash_resolve", "UDP insert clashes resolved by adopting the winner"),
    PORT_SEARCH_ATTEMPTS(8, "port_search_attempts", "NAT tuples tried"),
    POOL_EXHAUSTED(9, "pool_exhausted", "new connections with no free NAT tuple"),
    REOPENED(10, "reopened", "TIME_WAIT/CLOSE connections replaced by a new SYN"),
    ADOPTED(11, "adopted", "concurrent first packets of one flow that shared an existing translation"),
    UNTRACKED(12, "untracked", "packets matching no NAT rule, forwarded unchanged"),
    RX_PACKETS(13, "rx_packets", "packets read"),
    TX_PACKETS(14, "tx_packets", "packets written"),
    DROPPED(15, "dropped", "packets dropped, all reasons"),
    BACKEND_GONE(16, "backend_gone", "flows of removed backends ended with a TCP RST or ICMP unreachable"),
    REJECTED(17, "rejected", "new connections to a service with no backend taking any, answered with RST or ICMP unreachable"),
    RX_BYTES(18, "rx_bytes", "bytes read, IP header onward (a GSO super-packet as one packet, as the TUN device counts it)"),
    TX_BYTES(19, "tx_bytes", "bytes written, IP header onward (a GSO super-packet as one packet, as the TUN device counts it)"),
    TAKEN_OVER(20, "taken_over", "NAT tuples a new TCP connection took over from a TIME_WAIT/CLOSE one"),
    MAPPINGS_CREATED(21, "mappings_created", "endpoint-independent mappings created (an inside endpoint's external port)"),
    HAIRPINNED(22, "hairpinned", "connections from inside to a mapping's external endpoint, sent back inside (hairpinning)"),
    ACCEPTED_INBOUND(23, "accepted_inbound", "connections an outside host opened to a live mapping, as the filtering allows"),
    FRAGMENTS(24, "fragments", "IPv4 fragments forwarded, translated as their datagram's first fragment was"),
    FRAGMENTS_HELD(25, "fragments_held", "fragments that came before their first fragment and waited for it"),
    FRAGMENTS_RELEASED(26, "fragments_released", "held fragments forwarded once their first fragment came"),
    TAKE_OVER_REFUSED(27, "take_over_refused",
        "TIME_WAIT/CLOSE NAT tuples not taken over: the new SYN's sequence was not past the old connection's end"),
    TAKE_OVER_REFUSED_TIMESTAMP(28, "take_over_refused_timestamp",
        "TIME_WAIT/CLOSE NAT tuples not taken over: the server closed first and would refuse the new SYN's older timestamp (PAWS)");

    /** One more than the highest id: the slots a counter array indexed by id needs. */
    public static final int COUNT = maxId() + 1;
    private static final ConntrackCounter[] VALUES = byId();

    private final int id;
    private final String label;
    private final String description;

    ConntrackCounter(final int id, final String label, final String description)
    {
        this.id = id;
        this.label = label;
        this.description = description;
    }

    public int id()
    {
        return id;
    }

    public String label()
    {
        return label;
    }

    public String description()
    {
        return description;
    }

    public static ConntrackCounter get(final int id)
    {
        return VALUES[id];
    }

    private static int maxId()
    {
        int max = 0;
        for (final ConntrackCounter counter : values())
        {
            max = Math.max(max, counter.id);
        }
        return max;
    }

    private static ConntrackCounter[] byId()
    {
        final ConntrackCounter[] byId = new ConntrackCounter[maxId() + 1];
        for (final ConntrackCounter counter : values())
        {
            byId[counter.id] = counter;
        }
        return byId;
    }
}
