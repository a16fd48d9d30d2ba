package natgw.core.nat;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Per-backend evidence (incident 3: a ghost that answers SYNs with RST is found by looking at who
 * resets): new connections, live connections, SYNs answered by RST, SYNs never answered, ICMP errors
 * from the backend. Indexed by backend id; any thread adds, without locks or allocation.
 */
public final class BackendCounters
{
    public static final int MAX_BACKENDS = 4096;

    public static final int NEW = 0;
    public static final int LIVE = 1;
    public static final int SYN_RST = 2;
    public static final int SYN_UNANSWERED = 3;
    public static final int ICMP_ERRORS = 4;
    private static final int FIELDS = 8; // 64 bytes per backend: no false sharing between backends

    private final AtomicLongArray counters = new AtomicLongArray(MAX_BACKENDS * FIELDS);

    public void add(final int backendId, final int field, final long delta)
    {
        counters.getAndAdd(backendId * FIELDS + field, delta);
    }

    public long get(final int backendId, final int field)
    {
        return counters.get(backendId * FIELDS + field);
    }
}
