package natgw.core.conntrack.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

import natgw.core.conntrack.ConntrackTable;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Two workers allocate at once, past the high-water mark: the raises never lose one (an entry in use above the
 * mark would never expire), and a worker that reads the mark after its own allocation sees its entry below it.
 * The table is new, so the two take entries 0 and 1 and both raise the mark, one to 1 and one to 2: a raise
 * that overwrote instead of taking the maximum could leave 1.
 * r1: the mark after the race; r2: the highest entry taken, plus one; r3: 1 if the second worker's reading
 * covered its own entry.
 */
@JCStressTest
@Description("High-water mark raised by two allocations at once: none lost, reads monotonic.")
@Outcome(id = "2, 2, 1", expect = ACCEPTABLE, desc = "both raises in; each reading covers the reader's own entry")
@Outcome(expect = FORBIDDEN, desc = "a raise lost, or an entry in use above the mark")
@State
public class HighWaterRace
{
    final ConntrackTable table = new ConntrackTable(4, 0);
    int first = -1;
    int second = -1;
    int seen = -1;

    @Actor
    public void worker1()
    {
        first = table.allocate();
    }

    @Actor
    public void worker2()
    {
        second = table.allocate();
        seen = table.highWater();
    }

    @Arbiter
    public void verdict(final III_Result r)
    {
        r.r1 = table.highWater();
        r.r2 = Math.max(first, second) + 1;
        r.r3 = seen > second ? 1 : 0;
    }
}
