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
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * An inside endpoint's first two connections, to two servers, on two workers at once, endpoint-independent mapping:
 * both create a mapping, one confirms it, the other gives its own up and takes the winner's. One mapping, two
 * connections on it.
 */
@JCStressTest
@Description("Two first connections of one endpoint at once: exactly one mapping, both connections on it.")
@Outcome(id = "ONE_MAPPING", expect = ACCEPTABLE, desc = "one mapping with two uses, both connections on its port")
@Outcome(id = "DROP", expect = FORBIDDEN, desc = "a first packet was dropped")
@Outcome(id = "TWO_PORTS", expect = FORBIDDEN, desc = "the endpoint got two external ports")
@Outcome(expect = FORBIDDEN, desc = "table inconsistent after the race")
@State
public class FirstMappingRace
{
    static final int SERVER_2 = FlowTuple.parseAddress("10.77.2.3");

    final ConntrackTable table = new ConntrackTable(8, 0);
    final NatAllocator allocator1 = Mappings.allocator(table, 1);
    final NatAllocator allocator2 = Mappings.allocator(table, 2);
    final ConntrackTable.Cursor cursor1 = new ConntrackTable.Cursor();
    final ConntrackTable.Cursor cursor2 = new ConntrackTable.Cursor();
    int entry1;
    int entry2;

    @Actor
    public void toServer1()
    {
        entry1 = allocator1.connect(cursor1, ORIG1_A, ORIG1_B, POOL, SERVER, SERVER_PORT, PORT_LOW, PORT_HIGH, FLAGS, 0, DEADLINE_MS);
    }

    @Actor
    public void toServer2()
    {
        entry2 = allocator2.connect(cursor2, FlowTuple.packAddresses(CLIENT_1, SERVER_2), ORIG1_B, POOL, SERVER_2, SERVER_PORT,
            PORT_LOW, PORT_HIGH, FLAGS, 0, DEADLINE_MS);
    }

    @Arbiter
    public void verdict(final L_Result r)
    {
        if (entry1 < 0 || entry2 < 0)
        {
            r.r1 = "DROP";
            return;
        }
        if (FlowTuple.dstPort(table.tuplePorts(entry1, ConntrackTable.REPLY)) != FlowTuple.dstPort(table.tuplePorts(entry2, ConntrackTable.REPLY)))
        {
            r.r1 = "TWO_PORTS";
            return;
        }
        final String mappings = Mappings.problem(table);
        if (mappings != null)
        {
            r.r1 = mappings;
            return;
        }
        if (table.countMappings() != 1 || table.countInUse() != 2)
        {
            r.r1 = "ENTRIES_" + table.countMappings() + "_MAPPINGS_" + table.countInUse() + "_IN_USE";
            return;
        }
        final String freeList = freeListProblem(table);
        r.r1 = freeList != null ? freeList : "ONE_MAPPING";
    }
}
