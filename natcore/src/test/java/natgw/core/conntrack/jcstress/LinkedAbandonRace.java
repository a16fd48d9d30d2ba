package natgw.core.conntrack.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.LLL_Result;

import natgw.core.conntrack.ConntrackTable;

import static natgw.core.conntrack.ConntrackTable.ORIGINAL;
import static natgw.core.conntrack.ConntrackTable.REPLY;
import static natgw.core.conntrack.jcstress.Fixture.*;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * The window the packet path's lookup must not fall into: connection 1 holds an original tuple; a writer
 * sets up a second entry for the same original tuple with another reply tuple, claims that reply,
 * confirms, fails to claim the original and abandons. Meanwhile a reader looks up the original tuple,
 * then the second entry's reply tuple, with {@code findLinked}. r1: the original tuple must always read
 * as connection 1 (never the confirmed, unclaimed second entry); r2: the second reply tuple, briefly
 * linked; r3: what the writer's original claim did.
 */
@JCStressTest
@Description("findLinked never answers with an original node confirmed but not claimed: the tuple stays connection 1's.")
@Outcome(id = "(NONE|CONFIRMED), (NONE|RESERVED|CONFIRMED|DYING|STALE), ABANDONED", expect = ACCEPTABLE,
    desc = "connection 1 (or a walk that met a change); the second entry seen whole in any phase, or not at all")
@Outcome(id = ".*HALF.*", expect = FORBIDDEN, desc = "the original tuple read as the abandoned entry, or a mix")
@Outcome(id = ".*, CLAIMED", expect = FORBIDDEN, desc = "a second node claimed a held original tuple")
@Outcome(expect = FORBIDDEN, desc = "other")
@State
public class LinkedAbandonRace
{
    final ConntrackTable table = new ConntrackTable(2, 0);
    final ConntrackTable.Cursor writerCursor = new ConntrackTable.Cursor();

    public LinkedAbandonRace()
    {
        connect(table, writerCursor, ORIG1_A, ORIG1_B, REPLY1_A, REPLY1_B, EXTRA1);
    }

    @Actor
    public void writer(final LLL_Result r)
    {
        final int entry = table.allocate();
        table.initialise(entry, ORIG1_A, ORIG1_B, REPLY2_A, REPLY2_B, FLAGS, EXTRA2, DEADLINE_MS);
        if (!table.claim(writerCursor, entry, REPLY))
        {
            r.r3 = "REPLY_HELD";
            return;
        }
        table.confirm(entry);
        if (table.claim(writerCursor, entry, ORIGINAL))
        {
            r.r3 = "CLAIMED";
            return;
        }
        table.abandon(writerCursor, entry);
        r.r3 = "ABANDONED";
    }

    @Actor
    public void reader(final LLL_Result r)
    {
        r.r1 = View.readLinked(table, ORIG1_A, ORIG1_B, REPLY1_A, REPLY1_B, EXTRA1);
        r.r2 = View.readLinked(table, REPLY2_A, REPLY2_B, ORIG1_A, ORIG1_B, EXTRA2);
    }
}
