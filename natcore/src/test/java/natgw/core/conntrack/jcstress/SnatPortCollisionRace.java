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
 * Incident 1 through the allocator: two clients connect from the same source port to one server at
 * the same instant, through one pool address, with {@code reserve}. Both keep-the-port attempts want
 * the same reply tuple: one gets it, the other searches on; both connect, with distinct reply tuples.
 */
@JCStressTest
@Description("Two clients, one source port, one pool address, reserve: two connections, distinct translations, no drop.")
@Outcome(id = "DISTINCT", expect = ACCEPTABLE, desc = "two connections, two reply tuples, both in the table")
@Outcome(id = "DROP", expect = FORBIDDEN, desc = "a first packet was dropped (insert_failed)")
@Outcome(id = "SAME_REPLY_TUPLE", expect = FORBIDDEN, desc = "two connections hold one reply tuple")
@Outcome(expect = FORBIDDEN, desc = "table inconsistent after the race")
@State
public class SnatPortCollisionRace
{
    final ConntrackTable table = new ConntrackTable(4, 0);
    final NatAllocator allocator1 = allocator(table, PortStrategy.RESERVE, true, 1);
    final NatAllocator allocator2 = allocator(table, PortStrategy.RESERVE, true, 2);
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
