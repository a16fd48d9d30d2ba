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

import static natgw.core.conntrack.jcstress.Fixture.*;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Expiry racing a packet: the reaper kills an expired connection with the status it read when it
 * scanned, then allocates two new connections; a worker's packet looks the connection up and kills it
 * too with the status its lookup returned (a SYN reopening the tuple, or a flush). Exactly one kill
 * may win, the entry must be freed exactly once, and the free list must stay whole: after the race,
 * every entry is in use or free, once. r1: who killed; r2: the table afterwards.
 */
@JCStressTest
@Description("Expire vs lookup-and-kill: one killer, one free, a consistent free list.")
@Outcome(id = "REAPER, CONSISTENT", expect = ACCEPTABLE, desc = "the reaper killed it")
@Outcome(id = "WORKER, CONSISTENT", expect = ACCEPTABLE, desc = "the worker killed it")
@Outcome(id = "BOTH, .*", expect = FORBIDDEN, desc = "two killers")
@Outcome(id = "NONE, .*", expect = FORBIDDEN, desc = "nobody killed it")
@Outcome(expect = FORBIDDEN, desc = "entry freed twice, lost, or free list corrupt")
@State
public class ExpireKillRace
{
    final ConntrackTable table = new ConntrackTable(3, 0);
    final ConntrackTable.Cursor reaperCursor = new ConntrackTable.Cursor();
    final ConntrackTable.Cursor workerCursor = new ConntrackTable.Cursor();
    final int entry;
    final int scannedStatus;
    boolean reaperKilled;
    boolean workerKilled;
    int new1 = -2;
    int new2 = -2;

    public ExpireKillRace()
    {
        entry = connect(table, reaperCursor, ORIG1_A, ORIG1_B, REPLY1_A, REPLY1_B, EXTRA1);
        scannedStatus = table.status(entry);
    }

    @Actor
    public void reaper()
    {
        reaperKilled = table.kill(reaperCursor, entry, scannedStatus);
        new1 = table.allocate();
        new2 = table.allocate();
    }

    @Actor
    public void worker()
    {
        if (table.lookup(workerCursor, ORIG1_A, ORIG1_B) &&
            StatusDescriptor.phase(workerCursor.status()) == StatusDescriptor.PHASE_CONFIRMED)
        {
            workerKilled = table.kill(workerCursor, workerCursor.entry(), workerCursor.status());
        }
    }

    @Arbiter
    public void verdict(final LL_Result r)
    {
        r.r1 = reaperKilled ? (workerKilled ? "BOTH" : "REAPER") : (workerKilled ? "WORKER" : "NONE");
        r.r2 = tableVerdict();
    }

    private String tableVerdict()
    {
        if (new1 < 0 || new2 < 0 || new1 >= table.capacity() || new2 >= table.capacity())
        {
            // three entries, one in use before the race, none after the kill: two must be free
            return "ALLOCATE_FAILED_" + new1 + "_" + new2;
        }
        if (new1 == new2)
        {
            return "ALLOCATED_TWICE";
        }
        final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
        if (table.lookup(cursor, ORIG1_A, ORIG1_B) || table.lookup(cursor, REPLY1_A, REPLY1_B))
        {
            return "KILLED_BUT_LINKED";
        }
        if (table.countInUse() != 2)
        {
            // the killed entry may still be unfreed only if a node was left linked (checked above)
            return "IN_USE_" + table.countInUse();
        }
        final String freeList = Fixture.freeListProblem(table);
        return freeList != null ? freeList : "CONSISTENT";
    }
}
