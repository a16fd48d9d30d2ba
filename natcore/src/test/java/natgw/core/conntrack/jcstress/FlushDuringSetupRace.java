package natgw.core.conntrack.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.LL_Result;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.StatusDescriptor;

import static natgw.core.conntrack.ConntrackTable.ORIGINAL;
import static natgw.core.conntrack.ConntrackTable.REPLY;
import static natgw.core.conntrack.jcstress.Fixture.*;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * A scan that kills (flush, early_drop, expiry) meeting a connection still being set up: the owner
 * runs the creation protocol while the scanner reads the entry's status and, if CONFIRMED, kills it
 * with that status, which can fall between confirm and the claim of the original tuple. Either the
 * kill missed and the connection is whole, or it won and, once the owner has finished, nothing of the
 * connection is left: no linked tuple, the entry free exactly once. r1: the scanner; r2: the table.
 */
@JCStressTest
@Description("Kill during setup (between confirm and the original claim): the connection is whole, or wholly gone.")
@Outcome(id = "NOT_KILLED, PUBLISHED", expect = ACCEPTABLE, desc = "the scan did not kill it")
@Outcome(id = "KILLED, GONE", expect = ACCEPTABLE, desc = "killed: no tuple linked, entry freed once")
@Outcome(expect = FORBIDDEN, desc = "a killed connection left linked or in use, or the free list broken")
@State
public class FlushDuringSetupRace
{
    final ConntrackTable table = new ConntrackTable(2, 0);
    final ConntrackTable.Cursor ownerCursor = new ConntrackTable.Cursor();
    final ConntrackTable.Cursor scanCursor = new ConntrackTable.Cursor();
    final int entry = table.allocate();
    boolean killed;

    @Actor
    public void owner()
    {
        table.initialise(entry, ORIG1_A, ORIG1_B, REPLY1_A, REPLY1_B, FLAGS, EXTRA1, DEADLINE_MS);
        table.claim(ownerCursor, entry, REPLY);
        table.confirm(entry);
        table.claim(ownerCursor, entry, ORIGINAL);
    }

    @Actor
    public void scanner()
    {
        final int status = table.status(entry);
        if (StatusDescriptor.phase(status) == StatusDescriptor.PHASE_CONFIRMED)
        {
            killed = table.kill(scanCursor, entry, status);
        }
    }

    @Arbiter
    public void verdict(final LL_Result r)
    {
        r.r1 = killed ? "KILLED" : "NOT_KILLED";
        final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
        final boolean original = table.lookup(cursor, ORIG1_A, ORIG1_B);
        final boolean reply = table.lookup(cursor, REPLY1_A, REPLY1_B);
        final int inUse = table.countInUse();
        final String state;
        if (original && reply && inUse == 1)
        {
            state = "PUBLISHED";
        }
        else if (!original && !reply && inUse == 0)
        {
            state = "GONE";
        }
        else
        {
            state = (original ? "ORIGINAL_LINKED_" : "") + (reply ? "REPLY_LINKED_" : "") + "IN_USE_" + inUse;
        }
        final String freeList = Fixture.freeListProblem(table);
        r.r2 = freeList != null ? state + "_" + freeList : state;
    }
}
