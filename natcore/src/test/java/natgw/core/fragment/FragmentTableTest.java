package natgw.core.fragment;

import java.nio.ByteBuffer;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.core.packet.DropReason;
import natgw.core.packet.Ipv4Header;

import static natgw.core.flow.FlowTuple.parseAddress;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The train table on its own: pieces, the life of a train, one group's bounds. */
class FragmentTableTest
{
    private static final int SRC = parseAddress("10.77.1.2");
    private static final int DST = parseAddress("203.0.113.9");
    private static final long ADDRESSES = FlowTuple.packAddresses(SRC, DST);
    private static final int TIMEOUT_MS = 30_000;

    private final WorkerCounters counters = new WorkerCounters(0);
    private final FragmentTable.Cursor cursor = new FragmentTable.Cursor(counters);
    /** One group: every train competes for the same 8 entries. */
    private final FragmentTable table = new FragmentTable(FragmentTable.GROUP, 32, 32, 2048, TIMEOUT_MS, 1);
    private final UnsafeBuffer packet = new UnsafeBuffer(ByteBuffer.allocateDirect(64));

    private static int rest(final int id)
    {
        return FragmentTable.rest(Ipv4Header.PROTO_UDP, id);
    }

    /** A whole datagram of two pieces, first then last: translated, done. */
    private void deliver(final int id, final int nowMs)
    {
        assertEquals(FragmentTable.SET, table.piece(cursor, ADDRESSES, rest(id), 0, 1480, false, true, 20, nowMs));
        assertEquals(-1, table.ready(cursor, 0x0A000001, DST), "nothing was held");
        assertEquals(FragmentTable.TRANSLATE, table.piece(cursor, ADDRESSES, rest(id), 1480, 2000, true, false, 20, nowMs));
        assertEquals(0x0A000001, cursor.newSrc());
    }

    @Test
    void shouldStartANewTrainForAnIdentificationOnceItsDatagramIsDone()
    {
        deliver(7, 1000);
        // the next datagram with id 7: its first fragment is not a repeat of the last one's
        deliver(7, 1001);
        assertEquals(0, counters.get(DropReason.FRAGMENT_OVERLAP));
    }

    @Test
    void shouldEvictADoneTrainForANewOne()
    {
        for (int id = 0; id < 3 * FragmentTable.GROUP; id++)
        {
            deliver(id, 1000 + id);
        }
        assertEquals(FragmentTable.GROUP, table.trains(), "done trains stay until their entry is wanted");
    }

    @Test
    void shouldNeverEvictATrainThatHoldsFragments()
    {
        for (int id = 0; id < FragmentTable.GROUP; id++)
        {
            assertEquals(FragmentTable.HOLD, table.piece(cursor, ADDRESSES, rest(id), 1480, 2000, true, false, 20, 1000));
            assertEquals(FragmentTable.HOLD, table.hold(cursor, packet, 0, 40, SRC, 1480, 2000, true));
        }
        assertEquals(DropReason.FRAGMENT_LIMIT.id(), table.piece(cursor, ADDRESSES, rest(99), 1480, 2000, true, false, 20, 1000));
        assertEquals(FragmentTable.GROUP, table.held());
        // past the timeout, a new train ends the expired ones it meets (their held fragments dropped) and takes one
        assertEquals(FragmentTable.HOLD, table.piece(cursor, ADDRESSES, rest(99), 1480, 2000, true, false, 20, 1000 + TIMEOUT_MS + 1));
        assertEquals(FragmentTable.GROUP, counters.get(DropReason.FRAGMENT_TIMEOUT));
        assertEquals(0, table.held());
        assertEquals(1, table.trains());
    }

    @Test
    void shouldDropATrainWhoseLastFragmentsDisagreeOnItsEnd()
    {
        assertEquals(FragmentTable.HOLD, table.piece(cursor, ADDRESSES, rest(1), 1480, 2000, true, false, 20, 1000));
        assertEquals(FragmentTable.HOLD, table.hold(cursor, packet, 0, 40, SRC, 1480, 2000, true));
        assertEquals(FragmentTable.HOLD, table.piece(cursor, ADDRESSES, rest(1), 2960, 3000, true, false, 20, 1000));
        assertEquals(FragmentTable.HOLD, table.hold(cursor, packet, 0, 40, SRC, 2960, 3000, true), "held, then dropped with its train");
        assertEquals(0, table.held());
        assertEquals(2, counters.get(DropReason.FRAGMENT_OVERLAP));
        assertEquals(DropReason.FRAGMENT_OVERLAP.id(), table.piece(cursor, ADDRESSES, rest(1), 0, 1480, false, true, 20, 1000),
            "the datagram stays dropped");
    }

    @Test
    void shouldLimitPiecesPerDatagram()
    {
        final FragmentTable roomy = new FragmentTable(FragmentTable.GROUP, 128, 128, 2048, TIMEOUT_MS, 1);
        for (int piece = 0; piece < FragmentTable.MAX_PIECES; piece++)
        {
            assertEquals(FragmentTable.HOLD, roomy.piece(cursor, ADDRESSES, rest(2), 8 + piece * 8, 16 + piece * 8, false, false, 20, 1000));
            assertEquals(FragmentTable.HOLD, roomy.hold(cursor, packet, 0, 40, SRC, 8 + piece * 8, 16 + piece * 8, false));
        }
        assertEquals(FragmentTable.MAX_PIECES, roomy.held());
        final int more = 8 + FragmentTable.MAX_PIECES * 8;
        assertEquals(FragmentTable.HOLD, roomy.piece(cursor, ADDRESSES, rest(2), more, more + 8, false, false, 20, 1000));
        assertEquals(FragmentTable.HOLD, roomy.hold(cursor, packet, 0, 40, SRC, more, more + 8, false));
        assertEquals(0, roomy.held(), "the datagram and what it held dropped");
        assertEquals(FragmentTable.MAX_PIECES + 1, counters.get(DropReason.FRAGMENT_LIMIT));
    }
}
