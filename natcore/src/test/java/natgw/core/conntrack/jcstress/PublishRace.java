package natgw.core.conntrack.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.LL_Result;

import natgw.core.conntrack.ConntrackTable;

import static natgw.core.conntrack.ConntrackTable.ORIGINAL;
import static natgw.core.conntrack.ConntrackTable.REPLY;
import static natgw.core.conntrack.jcstress.Fixture.*;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Publication: a worker creates a connection (allocate, initialise, claim REPLY, confirm, claim
 * ORIGINAL) while another worker looks up its original tuple, then its reply tuple, and reads the
 * other direction's tuple, the policy data and the flags through the entry it found, validated with
 * {@code stillValid}, as the pipeline does. r1: what the original lookup saw; r2: the reply lookup.
 * A found node must show the connection complete: plain stores before the linking CAS.
 */
@JCStressTest
@Description("Lookup racing the publication of a connection: nothing, or the complete entry; never half of it.")
@Outcome(id = "NONE, NONE", expect = ACCEPTABLE, desc = "looked before the reply claim")
@Outcome(id = "NONE, RESERVED", expect = ACCEPTABLE, desc = "reply claimed, not yet confirmed (a miss for the pipeline)")
@Outcome(id = "NONE, CONFIRMED", expect = ACCEPTABLE, desc = "confirmed between the two lookups")
@Outcome(id = "CONFIRMED, CONFIRMED", expect = ACCEPTABLE, desc = "published")
@Outcome(id = ".*HALF.*", expect = FORBIDDEN, desc = "a found entry showed another tuple, policy data or flags")
@Outcome(id = ".*STALE.*", expect = FORBIDDEN, desc = "generation changed though nothing was freed")
@Outcome(id = "RESERVED, .*", expect = FORBIDDEN, desc = "original node linked before confirm")
@Outcome(expect = FORBIDDEN, desc = "other")
@State
public class PublishRace
{
    final ConntrackTable table = new ConntrackTable(2, 0);
    final ConntrackTable.Cursor writerCursor = new ConntrackTable.Cursor();
    final ConntrackTable.Cursor readerCursor = new ConntrackTable.Cursor();

    @Actor
    public void writer()
    {
        connect(table, writerCursor, ORIG1_A, ORIG1_B, REPLY1_A, REPLY1_B, EXTRA1);
    }

    @Actor
    public void reader(final LL_Result r)
    {
        r.r1 = View.read(table, readerCursor, ORIG1_A, ORIG1_B, REPLY1_A, REPLY1_B, EXTRA1);
        r.r2 = View.read(table, readerCursor, REPLY1_A, REPLY1_B, ORIG1_A, ORIG1_B, EXTRA1);
    }
}
