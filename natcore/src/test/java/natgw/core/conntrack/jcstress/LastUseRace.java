package natgw.core.conntrack.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.L_Result;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.flow.FlowTuple;
import natgw.core.nat.NatAllocator;

import static natgw.core.conntrack.jcstress.Fixture.*;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * An endpoint's only connection ends (the reaper kills it: its mapping's last use goes) while a worker creates the
 * endpoint's next connection: the new connection either took a use before the last one went (the mapping lives on)
 * or found it ending and made a new one. Never a connection on a dead mapping, never a mapping left without a use.
 */
@JCStressTest
@Description("The last use of a mapping released while a new connection of its endpoint acquires it.")
@Outcome(id = "KEPT_MAPPING", expect = ACCEPTABLE, desc = "the new connection holds the old mapping, which lives on")
@Outcome(id = "NEW_MAPPING", expect = ACCEPTABLE, desc = "the old mapping ended; the new connection has a new one")
@Outcome(id = "DROP", expect = ACCEPTABLE_INTERESTING, desc = "the old mapping took longer to end than the bounded retries")
@Outcome(expect = FORBIDDEN, desc = "a connection on a dead mapping, a leaked mapping, or the table inconsistent")
@State
public class LastUseRace
{
    static final int SERVER_2 = FlowTuple.parseAddress("10.77.2.3");

    final ConntrackTable table = new ConntrackTable(8, 0);
    final NatAllocator allocator = Mappings.allocator(table, 1);
    final ConntrackTable.Cursor reaperCursor = new ConntrackTable.Cursor();
    final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
    final int old;
    final int oldStatus;
    final int oldMapping;
    final int oldMappingStatus;
    int entry;

    public LastUseRace()
    {
        old = allocator.connect(reaperCursor, ORIG1_A, ORIG1_B, POOL, SERVER, SERVER_PORT, PORT_LOW, PORT_HIGH, FLAGS, 0, DEADLINE_MS);
        oldStatus = table.status(old);
        oldMapping = findMapping(table);
        oldMappingStatus = table.status(oldMapping);
    }

    @Actor
    public void reaper()
    {
        table.kill(reaperCursor, old, oldStatus);
    }

    @Actor
    public void nextConnection()
    {
        entry = allocator.connect(cursor, FlowTuple.packAddresses(CLIENT_1, SERVER_2), ORIG1_B, POOL, SERVER_2, SERVER_PORT,
            PORT_LOW, PORT_HIGH, FLAGS, 0, DEADLINE_MS);
    }

    @Arbiter
    public void verdict(final L_Result r)
    {
        if (table.status(old) == oldStatus)
        {
            r.r1 = "OLD_NOT_KILLED";
            return;
        }
        final String mappings = Mappings.problem(table);
        if (mappings != null)
        {
            r.r1 = mappings;
            return;
        }
        if (entry < 0)
        {
            r.r1 = table.countInUse() + table.countMappings() == 0 ? "DROP" : "DROP_LEFT_" + table.countInUse();
            return;
        }
        if (table.countMappings() != 1 || table.countInUse() != 1)
        {
            r.r1 = "ENTRIES_" + table.countMappings() + "_MAPPINGS_" + table.countInUse() + "_IN_USE";
            return;
        }
        final String freeList = freeListProblem(table);
        if (freeList != null)
        {
            r.r1 = freeList;
            return;
        }
        r.r1 = findMapping(table) == oldMapping && table.status(oldMapping) == oldMappingStatus ? "KEPT_MAPPING" : "NEW_MAPPING";
    }

    private static int findMapping(final ConntrackTable table)
    {
        for (int e = 0; e < table.capacity(); e++)
        {
            final int status = table.status(e);
            if (natgw.core.conntrack.StatusDescriptor.isConfirmed(status) && natgw.core.conntrack.StatusDescriptor.isMapping(status))
            {
                return e;
            }
        }
        return -1;
    }
}
