package natgw.core.pipeline;

import natgw.core.conntrack.ConntrackCounter;
import natgw.core.conntrack.ConntrackEvents;
import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.TcpSequence;
import natgw.core.conntrack.TcpState;
import natgw.core.conntrack.Timeouts;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.nat.BackendCounters;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.TcpHeader;

import static natgw.core.conntrack.ConntrackTable.ORIGINAL;
import static natgw.core.conntrack.ConntrackTable.REPLY;
import static natgw.core.conntrack.StatusDescriptor.ASSURED;
import static natgw.core.conntrack.StatusDescriptor.DST_NAT;
import static natgw.core.conntrack.StatusDescriptor.MAPPED;
import static natgw.core.conntrack.StatusDescriptor.SEEN_REPLY;
import static natgw.core.conntrack.StatusDescriptor.SRC_NAT;
import static natgw.core.conntrack.StatusDescriptor.generation;
import static natgw.core.conntrack.StatusDescriptor.isConfirmed;
import static natgw.core.conntrack.StatusDescriptor.tcpState;
import static natgw.core.conntrack.StatusDescriptor.withTcpState;

/**
 * The tracking stage (Linux: {@code nf_conntrack_core.c}'s packet accounting and {@code nf_conntrack_proto_*.c}):
 * what a packet does to its connection's status word ({@link natgw.core.conntrack.StatusDescriptor}): SEEN_REPLY
 * on a reply, the TCP state after {@link TcpState}'s transition table, ASSURED once established or, for UDP,
 * once a stream; the timeout that follows from the status, and the counters. A change of status is a CAS on
 * the shared word, retried from what another worker left.
 */
final class Tracking
{
    /**
     * A replied UDP flow becomes a stream (ASSURED, the replied timeout) with a packet after it is this old; before,
     * it keeps the unreplied timeout, so one request and its answer leave the table as soon as Linux 6.x lets them.
     */
    static final int UDP_STREAM_MS = 2000;
    /** A deadline is moved only when it is more than this behind: most packets then leave the entry's line clean. */
    private static final int DEADLINE_SLACK_MS = 1000;

    private final ConntrackTable table;
    private final ConntrackTable.Cursor cursor;
    private final Timeouts timeouts;
    private final WorkerCounters counters;
    private final BackendCounters backendCounters;
    private ConntrackEvents events = ConntrackEvents.NONE;
    /** The tuples of a connection that gives its mapping back (changeStatus). */
    private long originalAddresses;
    private long originalPorts;
    private long replyAddresses;
    private long replyPorts;

    Tracking(
        final ConntrackTable table,
        final ConntrackTable.Cursor cursor,
        final Timeouts timeouts,
        final WorkerCounters counters,
        final BackendCounters backendCounters)
    {
        this.table = table;
        this.cursor = cursor;
        this.timeouts = timeouts;
        this.counters = counters;
        this.backendCounters = backendCounters;
    }

    void events(final ConntrackEvents events)
    {
        this.events = events;
    }

    ConntrackEvents events()
    {
        return events;
    }

    /** Counts the packet, moves the connection's state on and pushes its deadline. */
    void track(
        final int entry,
        final int dir,
        final int status,
        final int protocol,
        final int tcpFlags,
        final int packets,
        final int bytes,
        final int nowMs,
        final int backend)
    {
        final ConntrackTable table = this.table;
        table.account(entry, dir, packets, bytes);
        final int update = statusAfter(dir, protocol, tcpFlags, status, true, udpStream(entry, protocol, status, nowMs));
        if (update == status)
        {
            refreshDeadline(entry, protocol, status, nowMs);
            return;
        }
        changeStatus(entry, dir, protocol, tcpFlags, nowMs, backend, status, update);
    }

    /**
     * Raises the original direction's sequence end ({@link ConntrackTable#raiseSequenceEnd}) to a TCP segment's end, for
     * a segment of the original direction that carries SYN, FIN or RST: the FIN or RST that ends what the sender sent
     * carries the end of all of it, which is what a take-over of the ended connection checks. Other segments leave the
     * record alone, so the packets of an established connection touch nothing but their entry's line.
     *
     * @param tcp       on the segment.
     * @param tcpLength its TCP header and payload, in bytes.
     */
    void trackSequence(final int entry, final int dir, final int status, final int tcpFlags, final TcpHeader tcp, final int tcpLength)
    {
        if (dir == ORIGINAL && (tcpFlags & SEQUENCE_FLAGS) != 0)
        {
            table.raiseSequenceEnd(cursor, entry, status, TcpSequence.end(tcp.sequence(), tcpLength - tcp.headerLength(), tcpFlags),
                closingTimestamp(status, tcpFlags, tcp));
        }
    }

    /**
     * The TSval of the inside host's FIN after the outside's, 0 for any other segment: the outside host will hold the
     * 4-tuple in TIME_WAIT, and refuse a new SYN on it whose timestamp is older than this FIN's (PAWS); a take-over of
     * the tuple checks against it ({@link ConntrackTable#closingTimestampOrder}). When the inside host closes first, the
     * outside's socket ends with its LAST_ACK and nothing is recorded.
     */
    private static int closingTimestamp(final int status, final int tcpFlags, final TcpHeader tcp)
    {
        if ((tcpFlags & TcpHeader.FIN) == 0 || (status & SRC_NAT) == 0 || !afterAFin(tcpState(status)))
        {
            return 0;
        }
        final long tsval = tcp.timestampValue();
        return tsval == TcpHeader.NO_TIMESTAMP ? 0 : (int)tsval;
    }

    /** True in the states a FIN leaves behind it (the kernel's table does not say whose FIN it was). */
    private static boolean afterAFin(final int tcpState)
    {
        return tcpState >= TcpState.FIN_WAIT && tcpState <= TcpState.TIME_WAIT;
    }

    /** The flags of the segments {@link #trackSequence} records: the steady path leaves every segment with one to it. */
    static final int SEQUENCE_FLAGS = TcpHeader.SYN | TcpHeader.FIN | TcpHeader.RST;

    /**
     * True if a TCP or UDP packet in {@code dir} with {@code tcpFlags} leaves {@code status} as it is: by
     * {@link #statusAfter}'s rules, and as a valid segment (an invalid one keeps the state too, but is
     * counted by the full path).
     */
    boolean leavesAsFound(final int entry, final int dir, final int protocol, final int tcpFlags, final int status, final int nowMs)
    {
        return statusAfter(dir, protocol, tcpFlags, status, false, udpStream(entry, protocol, status, nowMs)) == status &&
            (protocol != Ipv4Header.PROTO_TCP || TcpState.next(dir, tcpFlags, tcpState(status)) != TcpState.INVALID);
    }

    /** True for a SYN in the original direction on a closed TCP connection: it starts a new one (nf_conntrack_proto_tcp). */
    static boolean reopens(final int protocol, final int tcpFlags, final int dir, final int status)
    {
        return (tcpFlags & (TcpHeader.SYN | TcpHeader.ACK | TcpHeader.RST)) == TcpHeader.SYN &&
            protocol == Ipv4Header.PROTO_TCP && dir == ORIGINAL && TcpState.isReopenable(tcpState(status));
    }

    /** Ends the connection at the cursor, so that the SYN that {@link #reopens} it finds none and starts anew. */
    void reopen(final int entry)
    {
        if (table.kill(cursor, entry, cursor.status()))
        {
            counters.increment(ConntrackCounter.REOPENED);
        }
    }

    /** The connection's backend id, -1 for none; only DNAT connections have one (and read the entry's record). */
    int backendOf(final int entry, final int status)
    {
        return (status & DST_NAT) != 0 ? table.backend(entry) : -1;
    }

    /** The timeout of a new connection in {@code tcpState} (0 for other protocols). */
    int initialTimeoutMs(final int protocol, final int tcpState)
    {
        switch (protocol)
        {
            case Ipv4Header.PROTO_TCP: return timeouts.tcpMs(tcpState);
            case Ipv4Header.PROTO_UDP: return timeouts.udpUnrepliedMs();
            default: return timeouts.icmpMs();
        }
    }

    /** A packet that leaves the status as it is moves the deadline, only when it is more than the slack behind. */
    void refreshDeadline(final int entry, final int protocol, final int status, final int nowMs)
    {
        final int deadlineMs = nowMs + timeoutMs(protocol, status);
        if (deadlineMs - table.deadlineMs(entry) > DEADLINE_SLACK_MS)
        {
            table.deadlineMs(entry, deadlineMs);
        }
    }

    /**
     * The status a packet leaves the connection in: SEEN_REPLY on a reply, the TCP state after Linux's
     * transition table (an invalid segment, counted, and an ignored one keep the state), ASSURED once
     * established or, for UDP, once replied to. {@code countInvalid}: count an invalid segment (once per
     * packet, not again when a lost CAS makes the caller evaluate it anew).
     */
    private int statusAfter(
        final int dir, final int protocol, final int tcpFlags, final int status, final boolean countInvalid, final boolean udpStream)
    {
        final int update = dir == REPLY ? status | SEEN_REPLY : status;
        switch (protocol)
        {
            case Ipv4Header.PROTO_TCP:
            {
                final int old = tcpState(status);
                int next = TcpState.next(dir, tcpFlags, old);
                if (next == TcpState.INVALID)
                {
                    if (countInvalid)
                    {
                        counters.increment(ConntrackCounter.INVALID);
                    }
                    next = old;
                }
                else if (next == TcpState.IGNORE)
                {
                    next = old;
                }
                // as tcp_packet: only a connection the other side has answered (a picked-up one stays droppable)
                final boolean assured = (status & SEEN_REPLY) != 0 && next == TcpState.ESTABLISHED &&
                    (old == TcpState.SYN_RECV || old == TcpState.ESTABLISHED);
                // an ended connection gives its mapping back (changeStatus releases the use): its port may go to
                // another endpoint, whose SYN to the same server then takes the ended connection's tuple over
                final int mapped = TcpState.isReopenable(next) ? update & ~MAPPED : update;
                return withTcpState(assured ? mapped | ASSURED : mapped, next);
            }
            case Ipv4Header.PROTO_UDP:
                // a stream once replied and still active past its first UDP_STREAM_MS (nf_conntrack_proto_udp)
                return (status & SEEN_REPLY) != 0 && udpStream ? update | ASSURED : update;
            default:
                return update;
        }
    }

    /**
     * True for a UDP connection in {@code status} that has seen a reply, is not yet assured, and is older than
     * {@link #UDP_STREAM_MS}: its next packet makes it a stream. Reads the entry's record only for such a connection.
     * Its age comes from its first deadline, which it got when it was created with the unreplied timeout.
     */
    private boolean udpStream(final int entry, final int protocol, final int status, final int nowMs)
    {
        return protocol == Ipv4Header.PROTO_UDP &&
            (status & (SEEN_REPLY | ASSURED)) == SEEN_REPLY &&
            nowMs - (table.firstDeadlineMs(entry) - timeouts.udpUnrepliedMs()) >= UDP_STREAM_MS;
    }

    /** The timeout of a connection in {@code status}. */
    private int timeoutMs(final int protocol, final int status)
    {
        switch (protocol)
        {
            case Ipv4Header.PROTO_TCP:
                return timeouts.tcpMs(tcpState(status));
            case Ipv4Header.PROTO_UDP:
                return (status & ASSURED) != 0 ? timeouts.udpRepliedMs() : timeouts.udpUnrepliedMs();
            default:
                return timeouts.icmpMs();
        }
    }

    /**
     * {@link #track} for a packet that changes the connection's status from {@code status} to {@code update}:
     * CAS it (again from the status found, if another worker changed it first), count and tell what it did.
     */
    private void changeStatus(
        final int entry,
        final int dir,
        final int protocol,
        final int tcpFlags,
        final int nowMs,
        final int backend,
        final int found,
        final int firstUpdate)
    {
        int status = found;
        int update = firstUpdate;
        while (true)
        {
            final boolean unmaps = (status & ~update & MAPPED) != 0;
            if (unmaps)
            {
                // read while the status CAS below still checks the incarnation they belong to
                originalAddresses = table.tupleAddresses(entry, ORIGINAL);
                originalPorts = table.tuplePorts(entry, ORIGINAL);
                replyAddresses = table.tupleAddresses(entry, REPLY);
                replyPorts = table.tuplePorts(entry, REPLY);
            }
            if (update == status || table.compareAndSetStatus(entry, status, update))
            {
                if (unmaps)
                {
                    table.releaseUseOf(cursor, status, originalAddresses, originalPorts, replyAddresses, replyPorts);
                }
                if (backend >= 0 && protocol == Ipv4Header.PROTO_TCP && dir == REPLY && (tcpFlags & TcpHeader.RST) != 0 &&
                    tcpState(status) == TcpState.SYN_SENT && update != status)
                {
                    backendCounters.add(backend, BackendCounters.SYN_RST, 1); // incident 3's evidence: a SYN reset
                }
                final int deadlineMs = nowMs + timeoutMs(protocol, update);
                final int oldDeadlineMs = table.deadlineMs(entry);
                if (update != status || deadlineMs - oldDeadlineMs > DEADLINE_SLACK_MS)
                {
                    table.deadlineMs(entry, deadlineMs);
                }
                if (update != status)
                {
                    events.onEvent(ConntrackEvents.UPDATE, table, entry, update);
                }
                return;
            }
            status = table.status(entry);
            if (!isConfirmed(status) || generation(status) != generation(found))
            {
                return; // ended under us: this packet still goes out with the translation it found
            }
            // counted on the first evaluation
            update = statusAfter(dir, protocol, tcpFlags, status, false, udpStream(entry, protocol, status, nowMs));
        }
    }
}
