package natgw.core.conntrack;

/**
 * Receives connection lifecycle events, as {@code conntrack -E} shows them. Called on the packet
 * path: implementations must not block or allocate, and should cost nothing when nobody listens.
 */
public interface ConntrackEvents
{
    int NEW = 0;
    int UPDATE = 1;
    int DESTROY = 2;

    ConntrackEvents NONE = (type, table, entry, status) -> {};

    /** Both, in order. */
    static ConntrackEvents both(final ConntrackEvents first, final ConntrackEvents second)
    {
        return (type, table, entry, status) ->
        {
            first.onEvent(type, table, entry, status);
            second.onEvent(type, table, entry, status);
        };
    }

    /**
     * @param type   {@link #NEW}, {@link #UPDATE} or {@link #DESTROY}.
     * @param entry  the entry; for DESTROY its tuples are still readable but it may be reused at any moment.
     * @param status the entry status the event is about.
     */
    void onEvent(int type, ConntrackTable table, int entry, int status);
}
