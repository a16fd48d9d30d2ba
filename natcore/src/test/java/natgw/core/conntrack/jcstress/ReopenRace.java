package natgw.core.conntrack.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.LL_Result;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.flow.FlowTuple;

import static natgw.core.conntrack.jcstress.Fixture.*;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * A SYN reusing the tuple of a closed connection: the old connection is killed and its entry reused
 * at once for a new connection with the same original tuple but another translation and policy data.
 * A reader looking the original tuple up must come out with all of the old connection or all of the
 * new one. r1: the reader's view; r2: the writer's.
 */
@JCStressTest
@Description("Kill and reuse for the same original tuple: a validated read is all old or all new, never a mix.")
@Outcome(id = "(NONE|STALE|OLD_CONFIRMED|OLD_DYING|NEW_CONFIRMED), REUSED", expect = ACCEPTABLE,
    desc = "missed, refused by stillValid, or one incarnation whole")
@Outcome(id = "HALF, .*", expect = FORBIDDEN, desc = "stillValid accepted a mix of the two connections")
@Outcome(expect = FORBIDDEN, desc = "other")
@State
public class ReopenRace
{
    static final long NEW_REPLY_B = FlowTuple.packPorts(FlowTuple.protocol(REPLY1_B), SERVER_PORT, 50000);

    final ConntrackTable table = new ConntrackTable(1, 0);
    final ConntrackTable.Cursor writerCursor = new ConntrackTable.Cursor();
    final ConntrackTable.Cursor readerCursor = new ConntrackTable.Cursor();
    final int entry;
    final int status;

    public ReopenRace()
    {
        entry = connect(table, writerCursor, ORIG1_A, ORIG1_B, REPLY1_A, REPLY1_B, EXTRA1);
        status = table.status(entry);
    }

    @Actor
    public void writer(final LL_Result r)
    {
        r.r2 = Fixture.killAndReuse(table, writerCursor, entry, status, ORIG1_A, ORIG1_B, REPLY1_A, NEW_REPLY_B, EXTRA2);
    }

    @Actor
    public void reader(final LL_Result r)
    {
        r.r1 = View.readEither(table, readerCursor, ORIG1_A, ORIG1_B,
            REPLY1_A, REPLY1_B, EXTRA1, REPLY1_A, NEW_REPLY_B, EXTRA2);
    }
}
