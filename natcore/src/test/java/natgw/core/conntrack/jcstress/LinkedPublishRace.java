package natgw.core.conntrack.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.LL_Result;

import natgw.core.conntrack.ConntrackTable;

import static natgw.core.conntrack.jcstress.Fixture.*;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * {@link PublishRace} through the packet path's lookup ({@code findLinked}, then the fields, then
 * {@code sameIncarnation}): a worker creates a connection while another looks up its original tuple,
 * then its reply tuple. r1: the original lookup; r2: the reply lookup.
 */
@JCStressTest
@Description("findLinked racing the publication of a connection: nothing, or the complete entry; never half of it.")
@Outcome(id = "NONE, NONE", expect = ACCEPTABLE, desc = "looked before the reply claim")
@Outcome(id = "NONE, RESERVED", expect = ACCEPTABLE, desc = "reply claimed, not yet confirmed (the pipeline declines it)")
@Outcome(id = "NONE, CONFIRMED", expect = ACCEPTABLE, desc = "confirmed between the two lookups, or before the original claim")
@Outcome(id = "CONFIRMED, CONFIRMED", expect = ACCEPTABLE, desc = "published")
@Outcome(id = ".*HALF.*", expect = FORBIDDEN, desc = "a found entry showed another tuple, policy data or flags")
@Outcome(id = ".*STALE.*", expect = FORBIDDEN, desc = "generation changed though nothing was freed")
@Outcome(id = "RESERVED, .*", expect = FORBIDDEN, desc = "original node linked before confirm")
@Outcome(expect = FORBIDDEN, desc = "other")
@State
public class LinkedPublishRace
{
    final ConntrackTable table = new ConntrackTable(2, 0);
    final ConntrackTable.Cursor writerCursor = new ConntrackTable.Cursor();

    @Actor
    public void writer()
    {
        connect(table, writerCursor, ORIG1_A, ORIG1_B, REPLY1_A, REPLY1_B, EXTRA1);
    }

    @Actor
    public void reader(final LL_Result r)
    {
        r.r1 = View.readLinked(table, ORIG1_A, ORIG1_B, REPLY1_A, REPLY1_B, EXTRA1);
        r.r2 = View.readLinked(table, REPLY1_A, REPLY1_B, ORIG1_A, ORIG1_B, EXTRA1);
    }
}
