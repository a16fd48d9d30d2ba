package natgw.core.conntrack.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.LLL_Result;

import natgw.core.conntrack.ConntrackTable;

import static natgw.core.conntrack.jcstress.Fixture.*;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Kill versus lookup, and reuse under a reader: a one-entry table holds connection 1; a writer kills
 * it and at once reuses the entry for connection 2 (other tuples, other policy data), while a reader
 * looks up connection 1's original tuple, then its reply tuple, and reads the other direction through
 * the entry it found, validated with {@code stillValid}. r1, r2: the reader's two views; r3: did the
 * writer get the freed entry back.
 */
@JCStressTest
@Description("Kill and reuse under a reader: a validated read is connection 1's, never connection 2's data for connection 1's tuple.")
@Outcome(id = "CONFIRMED, (NONE|CONFIRMED|DYING|STALE), REUSED", expect = ACCEPTABLE,
    desc = "read connection 1 whole, then missed it, read it whole (possibly while it died), or was told the entry changed")
@Outcome(id = "(NONE|DYING|STALE), (NONE|DYING|STALE), REUSED", expect = ACCEPTABLE,
    desc = "found connection 1 dying or gone, then again")
@Outcome(id = "(NONE|DYING|STALE), CONFIRMED, .*", expect = FORBIDDEN,
    desc = "connection 1 confirmed again after the reader saw it dying or gone: a kill marks it DYING before unlinking")
@Outcome(id = ".*HALF.*", expect = FORBIDDEN, desc = "stillValid accepted another connection's data")
@Outcome(id = ".*, NOT_REUSED", expect = FORBIDDEN, desc = "the killed entry was not freed once")
@Outcome(expect = FORBIDDEN, desc = "other")
@State
public class KillReuseRace
{
    final ConntrackTable table = new ConntrackTable(1, 0);
    final ConntrackTable.Cursor writerCursor = new ConntrackTable.Cursor();
    final ConntrackTable.Cursor readerCursor = new ConntrackTable.Cursor();
    final int entry;
    final int status;

    public KillReuseRace()
    {
        entry = connect(table, writerCursor, ORIG1_A, ORIG1_B, REPLY1_A, REPLY1_B, EXTRA1);
        status = table.status(entry);
    }

    @Actor
    public void writer(final LLL_Result r)
    {
        r.r3 = Fixture.killAndReuse(table, writerCursor, entry, status, ORIG2_A, ORIG2_B, REPLY2_A, REPLY2_B, EXTRA2);
    }

    @Actor
    public void reader(final LLL_Result r)
    {
        r.r1 = View.read(table, readerCursor, ORIG1_A, ORIG1_B, REPLY1_A, REPLY1_B, EXTRA1);
        r.r2 = View.read(table, readerCursor, REPLY1_A, REPLY1_B, ORIG1_A, ORIG1_B, EXTRA1);
    }
}
