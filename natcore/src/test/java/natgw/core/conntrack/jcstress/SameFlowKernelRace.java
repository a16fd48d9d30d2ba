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
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * The baseline twin of {@link SameFlowReserveRace}: the same race through the kernel's
 * check-then-insert, without clash resolution (Linux before 4.19). A drop here is incident 4 itself,
 * the behaviour the {@code kernel} strategy exists to show; two connections or two translations never are.
 */
@JCStressTest
@Description("Two workers create the same new flow with kernel (no clash resolution): a drop is incident 4.")
@Outcome(id = "SAME_CONNECTION", expect = ACCEPTABLE, desc = "the packets did not overlap")
@Outcome(id = "DROP", expect = ACCEPTABLE_INTERESTING, desc = "insert_failed + drop: incident 4 reproduced")
@Outcome(id = "TWO_CONNECTIONS", expect = FORBIDDEN, desc = "the flow got two connections")
@Outcome(id = "TWO_TRANSLATIONS", expect = FORBIDDEN, desc = "one connection, two translations seen")
@Outcome(expect = FORBIDDEN, desc = "table inconsistent after the race")
@State
public class SameFlowKernelRace
{
    final ConntrackTable table = new ConntrackTable(4, 0);
    final NatAllocator allocator1 = allocator(table, PortStrategy.KERNEL, false, 1);
    final NatAllocator allocator2 = allocator(table, PortStrategy.KERNEL, false, 2);
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
        final String verdict = SameFlow.verdict(table, entry1, entry2, reply1, reply2);
        // a drop leaves the winner's connection: check the table all the same
        r.r1 = "DROP".equals(verdict) ? SameFlow.afterDrop(table, entry1, entry2) : verdict;
    }
}
