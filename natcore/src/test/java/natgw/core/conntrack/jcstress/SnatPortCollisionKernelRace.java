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
 * The baseline twin of {@link SnatPortCollisionRace} through the kernel's check-then-insert: both
 * clients see the source port free among confirmed connections, the second insert fails. A drop is
 * incident 1 itself; a shared reply tuple never is (the table still refuses the second claim).
 */
@JCStressTest
@Description("Two clients, one source port, one pool address, kernel: a drop is incident 1.")
@Outcome(id = "DISTINCT", expect = ACCEPTABLE, desc = "the two connects did not overlap")
@Outcome(id = "DROP", expect = ACCEPTABLE_INTERESTING, desc = "insert_failed + drop: incident 1 reproduced")
@Outcome(id = "SAME_REPLY_TUPLE", expect = FORBIDDEN, desc = "two connections hold one reply tuple")
@Outcome(expect = FORBIDDEN, desc = "table inconsistent after the race")
@State
public class SnatPortCollisionKernelRace
{
    final ConntrackTable table = new ConntrackTable(4, 0);
    final NatAllocator allocator1 = allocator(table, PortStrategy.KERNEL, true, 1);
    final NatAllocator allocator2 = allocator(table, PortStrategy.KERNEL, true, 2);
    final ConntrackTable.Cursor cursor1 = new ConntrackTable.Cursor();
    final ConntrackTable.Cursor cursor2 = new ConntrackTable.Cursor();
    int entry1;
    int entry2;

    @Actor
    public void client1()
    {
        entry1 = allocator1.connect(cursor1, ORIG1_A, ORIG1_B, POOL, SERVER, SERVER_PORT, PORT_LOW, PORT_HIGH, FLAGS, 0, DEADLINE_MS);
    }

    @Actor
    public void client2()
    {
        entry2 = allocator2.connect(cursor2, ORIG2_A, ORIG2_B, POOL, SERVER, SERVER_PORT, PORT_LOW, PORT_HIGH, FLAGS, 0, DEADLINE_MS);
    }

    @Arbiter
    public void verdict(final L_Result r)
    {
        r.r1 = Collision.verdict(table, entry1, entry2);
    }
}
