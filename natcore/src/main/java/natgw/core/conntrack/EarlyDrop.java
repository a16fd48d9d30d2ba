package natgw.core.conntrack;

/**
 * Makes room in a full table (Linux {@code early_drop}): ends one unassured connection found near a given spot.
 * An ASSURED connection is never taken, unless it is a TCP connection already closing (FIN_WAIT, CLOSE_WAIT,
 * LAST_ACK, TIME_WAIT, CLOSE: the kernel's {@code tcp_can_early_drop}). Among the rest, the victim is, in order of
 * preference:
 * <ol>
 *   <li>the first one that has never been answered (a SYN nobody answered, an unreplied UDP or ICMP flow) or is
 *   closing: the kernel's choice, and what a flood of new or short flows is made of;</li>
 *   <li>else the answered one with the nearest deadline (a replied UDP flow not yet a stream) among the
 *   {@link #RANGE} entries from the spot;</li>
 *   <li>else, last, the TCP connection whose SYN-ACK was forwarded and whose ACK has not come yet, the one with
 *   the nearest deadline. Its client already sees the connection established: evicting it turns the client's
 *   first data into a reset, so it goes only when nothing else unassured is within {@link #MAX_SCAN} entries of the
 *   spot, and then the oldest (they all have the SYN_RECV timeout, so the nearest deadline is the oldest
 *   SYN-ACK).</li>
 * </ol>
 * The scan is bounded, as the kernel's is (it walks a few buckets, not the table): a full scan at every new flow
 * of a full table would turn a flood into a CPU exhaustion. It samples the table with a stride of about 0.618 of
 * its capacity rather than adjacent entries: entries are handed out in order, so the long-lived connections of a
 * gateway that started under load fill a stretch of them, and a window inside that stretch would find nothing to
 * evict while the rest of the table is full of candidates.
 */
public final class EarlyDrop
{
    /** Entries scanned for a victim from the start spot while one that was answered is the best found. */
    public static final int RANGE = 64;
    /** Entries scanned while only handshakes whose SYN-ACK went out, or nothing, were found. */
    public static final int MAX_SCAN = 4 * RANGE;
    private static final int NEVER_ANSWERED = 0;
    private static final int ANSWERED = 1;
    private static final int HANDSHAKE_ANSWERED = 2;
    private static final int NOT_A_VICTIM = 3;

    private final ConntrackTable table;
    private final long stride;

    public EarlyDrop(final ConntrackTable table)
    {
        this.table = table;
        this.stride = (long)(table.capacity() * 0.6180339887) | 1;
    }

    /**
     * Ends the preferred victim among the entries sampled from {@code start} on, as the class describes.
     *
     * @return true if this call ended a connection; false if none could go (all assured, or a lost race).
     */
    public boolean evict(final ConntrackTable.Cursor cursor, final int start)
    {
        final ConntrackTable table = this.table;
        final int capacity = table.capacity();
        int victim = -1;
        int victimStatus = 0;
        int victimRank = NOT_A_VICTIM;
        int victimDeadlineMs = 0;
        for (int i = 0; i < MAX_SCAN && i < capacity; i++)
        {
            if (i == RANGE && victimRank == ANSWERED)
            {
                break;
            }
            final int candidate = (int)((start + i * stride) % capacity);
            final int status = table.status(candidate);
            final int rank = rank(status);
            if (rank == NEVER_ANSWERED)
            {
                victim = candidate;
                victimStatus = status;
                break;
            }
            if (rank == NOT_A_VICTIM)
            {
                continue;
            }
            final int deadlineMs = table.deadlineMs(candidate);
            if (rank < victimRank || rank == victimRank && deadlineMs - victimDeadlineMs < 0)
            {
                victim = candidate;
                victimStatus = status;
                victimRank = rank;
                victimDeadlineMs = deadlineMs;
            }
        }
        return victim >= 0 && table.kill(cursor, victim, victimStatus);
    }

    /** How readily a connection in {@code status} is evicted: lower goes first. */
    static int rank(final int status)
    {
        if (StatusDescriptor.phase(status) != StatusDescriptor.PHASE_CONFIRMED || StatusDescriptor.isMapping(status))
        {
            return NOT_A_VICTIM; // a mapping ends with its last connection
        }
        final int tcpState = StatusDescriptor.tcpState(status);
        if (tcpState >= TcpState.FIN_WAIT && tcpState <= TcpState.CLOSE)
        {
            return NEVER_ANSWERED; // closing: nothing of value is lost
        }
        if ((status & StatusDescriptor.ASSURED) != 0)
        {
            return NOT_A_VICTIM;
        }
        if ((status & StatusDescriptor.SEEN_REPLY) == 0)
        {
            return NEVER_ANSWERED;
        }
        return tcpState == TcpState.SYN_RECV ? HANDSHAKE_ANSWERED : ANSWERED;
    }
}
