package natgw.core.conntrack.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.L_Result;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.nat.NatAllocator;
import natgw.core.nat.PortStrategy;

import static natgw.core.conntrack.jcstress.Fixture.*;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Incident 4 (DNS A and AAAA from one socket): the first two packets of one new UDP flow reach two
 * workers at once, each with its own {@link NatAllocator} ({@code reserve}) over the shared table.
 * Both must come out with the same connection and the same translation, and the loser's entry must be
 * given back.
 */
@JCStressTest
@Description("Two workers create the same new flow with reserve: one connection, one translation, no drop.")
@Outcome(id = "SAME_CONNECTION", expect = ACCEPTABLE, desc = "both packets use one connection; one entry in use")
@Outcome(id = "DROP", expect = FORBIDDEN, desc = "a packet of the flow was dropped")
@Outcome(id = "TWO_CONNECTIONS", expect = FORBIDDEN, desc = "the flow got two connections")
@Outcome(id = "TWO_TRANSLATIONS", expect = FORBIDDEN, desc = "one connection, two translations seen")
@Outcome(expect = FORBIDDEN, desc = "table or counters inconsistent after the race")
@State
public class SameFlowReserveRace
{
    final ConntrackTable table = new ConntrackTable(4, 0);
    final NatAllocator allocator1 = allocator(table, PortStrategy.RESERVE, true, 1);
    final NatAllocator allocator2 = allocator(table, PortStrategy.RESERVE, true, 2);
    final ConntrackTable.Cursor cursor1 = new ConntrackTable.Cursor();
    final ConntrackTable.Cursor cursor2 = new ConntrackTable.Cursor();
    int entry1;
    int entry2;
    long reply1;
    long reply2;

    @Actor
    public void worker1()
    {
        entry1 = connect(allocator1, cursor1);
        reply1 = entry1 < 0 ? -1 : table.tuplePorts(entry1, ConntrackTable.REPLY);
    }

    @Actor
    public void worker2()
    {
        entry2 = connect(allocator2, cursor2);
        reply2 = entry2 < 0 ? -1 : table.tuplePorts(entry2, ConntrackTable.REPLY);
    }

    int connect(final NatAllocator allocator, final ConntrackTable.Cursor cursor)
    {
        return SameFlow.firstPacket(table, allocator, cursor);
    }

    @Arbiter
    public void verdict(final L_Result r)
    {
        r.r1 = SameFlow.verdict(table, entry1, entry2, reply1, reply2);
    }
}
