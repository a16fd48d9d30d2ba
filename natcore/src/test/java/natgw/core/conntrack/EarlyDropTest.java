package natgw.core.conntrack;

import org.junit.jupiter.api.Test;

import natgw.core.flow.FlowTuple;
import natgw.core.nat.NatAllocator;
import natgw.core.nat.PortStrategy;

import static natgw.core.conntrack.StatusDescriptor.ASSURED;
import static natgw.core.conntrack.StatusDescriptor.PHASE_CONFIRMED;
import static natgw.core.conntrack.StatusDescriptor.SEEN_REPLY;
import static natgw.core.flow.FlowTuple.parseAddress;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EarlyDropTest
{
    private static final int CLIENT = parseAddress("10.0.0.2");
    private static final int SERVER = parseAddress("203.0.113.9");
    private static final int POOL = parseAddress("198.51.100.1");
    private static final int TCP = 6;
    private static final int UDP = 17;
    private static final int SYN_SENT = StatusDescriptor.withTcpState(0, TcpState.SYN_SENT);
    private static final int SYN_ANSWERED = StatusDescriptor.withTcpState(SEEN_REPLY, TcpState.SYN_RECV);
    private static final int ESTABLISHED = StatusDescriptor.withTcpState(SEEN_REPLY | ASSURED, TcpState.ESTABLISHED);

    private final ConntrackTable table = new ConntrackTable(8, 0);
    private final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
    private final NatAllocator allocator = new NatAllocator(table, PortStrategy.RESERVE, new WorkerCounters(0), 0, true, 42);
    private final EarlyDrop earlyDrop = new EarlyDrop(table);
    private int clients;

    /** A connection of a new client with {@code status} flags and deadline; returns its entry. */
    private int connection(final int protocol, final int status, final int deadlineMs)
    {
        final int client = CLIENT + clients++;
        final int entry = allocator.connect(cursor, FlowTuple.packAddresses(client, SERVER), FlowTuple.packPorts(protocol, 40000, 443),
            POOL, SERVER, 443, 1024, 65535, status, 0, deadlineMs);
        assertTrue(entry >= 0);
        return entry;
    }

    private boolean alive(final int entry)
    {
        return StatusDescriptor.phase(table.status(entry)) == PHASE_CONFIRMED;
    }

    @Test
    void shouldNeverEvictAnAssuredConnection()
    {
        for (int i = 0; i < 8; i++)
        {
            connection(TCP, ESTABLISHED, 1000 + i);
        }

        assertFalse(earlyDrop.evict(cursor, 0));
        assertEquals(8, table.countInUse());
    }

    @Test
    void shouldEvictANeverAnsweredSynBeforeAnOlderAnsweredHandshake()
    {
        final int answered = connection(TCP, SYN_ANSWERED, 100);
        final int established = connection(TCP, ESTABLISHED, 50);
        final int unanswered = connection(TCP, SYN_SENT, 5000);

        assertTrue(earlyDrop.evict(cursor, 0));
        assertFalse(alive(unanswered));
        assertTrue(alive(answered), "its client already sees it established");
        assertTrue(alive(established));
    }

    @Test
    void shouldEvictAnAnsweredUdpFlowBeforeAnAnsweredHandshake()
    {
        final int answered = connection(TCP, SYN_ANSWERED, 100);
        final int udp = connection(UDP, SEEN_REPLY, 9000);

        assertTrue(earlyDrop.evict(cursor, 0));
        assertFalse(alive(udp));
        assertTrue(alive(answered));
    }

    @Test
    void shouldEvictTheOldestAnsweredHandshakeWhenNothingElseIsUnassured()
    {
        final int newer = connection(TCP, SYN_ANSWERED, 3000);
        final int established = connection(TCP, ESTABLISHED, 10);
        final int oldest = connection(TCP, SYN_ANSWERED, 1000);
        final int middle = connection(TCP, SYN_ANSWERED, 2000);

        assertTrue(earlyDrop.evict(cursor, 0));
        assertFalse(alive(oldest));
        assertTrue(alive(newer) && alive(middle) && alive(established));
    }

    @Test
    void shouldFindAVictimAcrossTheEndOfTheTable()
    {
        final int unanswered = connection(TCP, SYN_SENT, 100);
        for (int i = 1; i < 8; i++)
        {
            connection(TCP, ESTABLISHED, 100);
        }

        assertTrue(earlyDrop.evict(cursor, 5));
        assertFalse(alive(unanswered));
        assertEquals(7, table.countInUse());
    }

    @Test
    void shouldEvictAnAssuredConnectionThatIsClosing()
    {
        final int established = connection(TCP, ESTABLISHED, 10);
        final int answered = connection(TCP, SYN_ANSWERED, 100);
        final int closing = connection(TCP, StatusDescriptor.withTcpState(SEEN_REPLY | ASSURED, TcpState.TIME_WAIT), 5000);

        assertTrue(earlyDrop.evict(cursor, 0));
        assertFalse(alive(closing));
        assertTrue(alive(established) && alive(answered));
    }

    @Test
    void shouldRankByStatusOnly()
    {
        assertTrue(EarlyDrop.rank(PHASE_CONFIRMED | SYN_SENT) < EarlyDrop.rank(PHASE_CONFIRMED | SEEN_REPLY));
        assertTrue(EarlyDrop.rank(PHASE_CONFIRMED | SEEN_REPLY) < EarlyDrop.rank(PHASE_CONFIRMED | SYN_ANSWERED));
        assertTrue(EarlyDrop.rank(PHASE_CONFIRMED | SYN_ANSWERED) < EarlyDrop.rank(PHASE_CONFIRMED | ESTABLISHED));
        assertEquals(EarlyDrop.rank(PHASE_CONFIRMED | ESTABLISHED), EarlyDrop.rank(StatusDescriptor.PHASE_RESERVED));
    }
}
