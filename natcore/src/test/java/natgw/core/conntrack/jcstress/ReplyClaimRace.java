package natgw.core.conntrack.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZZI_Result;

import natgw.core.conntrack.ConntrackTable;

import static natgw.core.conntrack.ConntrackTable.REPLY;
import static natgw.core.conntrack.jcstress.Fixture.*;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * The atomic step of reserve-then-confirm: two connections with different original tuples claim the
 * same reply tuple at the same instant (incident 1: two clients, one source port, one pool address).
 * r1, r2: did actor 1, 2 win the claim; r3: whose entry a lookup of the reply tuple finds afterwards
 * (1, 2, or 0 for none).
 */
@JCStressTest
@Description("Two connections claim one reply tuple: exactly one wins, and the table holds the winner's claim.")
@Outcome(id = "true, false, 1", expect = ACCEPTABLE, desc = "connection 1 holds the tuple")
@Outcome(id = "false, true, 2", expect = ACCEPTABLE, desc = "connection 2 holds the tuple")
@Outcome(id = "true, true, .*", expect = FORBIDDEN, desc = "two connections hold one reply tuple")
@Outcome(id = "false, false, .*", expect = FORBIDDEN, desc = "a free tuple was refused to both")
@Outcome(expect = FORBIDDEN, desc = "the table does not hold the winner's claim")
@State
public class ReplyClaimRace
{
    private final ConntrackTable table = new ConntrackTable(4, 0);
    private final ConntrackTable.Cursor cursor1 = new ConntrackTable.Cursor();
    private final ConntrackTable.Cursor cursor2 = new ConntrackTable.Cursor();
    private final int entry1;
    private final int entry2;

    public ReplyClaimRace()
    {
        entry1 = table.allocate();
        entry2 = table.allocate();
        table.initialise(entry1, ORIG1_A, ORIG1_B, REPLY1_A, REPLY1_B, FLAGS, EXTRA1, DEADLINE_MS);
        table.initialise(entry2, ORIG2_A, ORIG2_B, REPLY1_A, REPLY1_B, FLAGS, EXTRA2, DEADLINE_MS);
    }

    @Actor
    public void connection1(final ZZI_Result r)
    {
        r.r1 = table.claim(cursor1, entry1, REPLY);
    }

    @Actor
    public void connection2(final ZZI_Result r)
    {
        r.r2 = table.claim(cursor2, entry2, REPLY);
    }

    @Arbiter
    public void holder(final ZZI_Result r)
    {
        final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
        if (table.lookup(cursor, REPLY1_A, REPLY1_B) && cursor.dir() == REPLY)
        {
            r.r3 = cursor.entry() == entry1 ? 1 : cursor.entry() == entry2 ? 2 : 9;
        }
    }
}
