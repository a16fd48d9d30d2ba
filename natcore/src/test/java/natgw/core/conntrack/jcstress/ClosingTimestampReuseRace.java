package natgw.core.conntrack.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
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
 * A stale closing-timestamp store versus kill and reuse: a one-entry table holds a source-NAT connection; a worker
 * records its closing timestamp with the status it found, while a writer kills it and at once reuses the entry for
 * a connection with policy data of its own (a backend id), which shares the record word. The store lands on the first
 * connection or nowhere: the second keeps its data, and the free list stays whole. r1: the writer's reuse; r2: the
 * second connection's data and the free list after.
 */
@JCStressTest
@Description("A closing timestamp recorded for a connection never lands in the connection that reuses its entry.")
@Outcome(id = "REUSED, OK", expect = ACCEPTABLE, desc = "the second connection has its own data; the store hit the first or nothing")
@Outcome(id = "NOT_REUSED, .*", expect = FORBIDDEN, desc = "the killed entry was not freed once")
@Outcome(expect = FORBIDDEN, desc = "the store wrote into the second connection's data, or the table is inconsistent")
@State
public class ClosingTimestampReuseRace
{
    static final int RECORDED = 0x7000_0007;

    final ConntrackTable table = new ConntrackTable(1, 0);
    final ConntrackTable.Cursor writerCursor = new ConntrackTable.Cursor();
    final ConntrackTable.Cursor recorderCursor = new ConntrackTable.Cursor();
    final int entry;
    final int status;
    String reuse = "NOT_RUN";

    public ClosingTimestampReuseRace()
    {
        entry = connect(table, writerCursor, ORIG1_A, ORIG1_B, REPLY1_A, REPLY1_B, 0);
        status = table.status(entry);
    }

    @Actor
    public void recorder()
    {
        table.raiseSequenceEnd(recorderCursor, entry, status, table.sequenceEnd(entry), RECORDED);
    }

    @Actor
    public void writer()
    {
        reuse = killAndReuse(table, writerCursor, entry, status, ORIG2_A, ORIG2_B, REPLY2_A, REPLY2_B, EXTRA2);
    }

    @Arbiter
    public void verdict(final LL_Result r)
    {
        r.r1 = reuse;
        final String freeList = freeListProblem(table);
        r.r2 = table.extra(entry) != EXTRA2 ? "DATA_" + Integer.toHexString(table.extra(entry)) : freeList != null ? freeList : "OK";
    }
}
