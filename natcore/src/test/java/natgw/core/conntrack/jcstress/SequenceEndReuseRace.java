package natgw.core.conntrack.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.LL_Result;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.MappingDescriptor;
import natgw.core.conntrack.StatusDescriptor;
import natgw.core.packet.Ipv4Header;

import static natgw.core.conntrack.ConntrackTable.ORIGINAL;
import static natgw.core.conntrack.ConntrackTable.REPLY;
import static natgw.core.conntrack.jcstress.Fixture.*;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * A stale sequence raise versus kill and reuse: a one-entry table holds a connection; a worker raises its sequence
 * end with the status it found, while a writer kills it and at once reuses the entry for an endpoint mapping, whose
 * uses share the record word with a connection's sequence end. The raise lands on the connection or nowhere: the
 * mapping starts with exactly its creator's use. r1: the mapping's uses; r2: the free list and the table after.
 */
@JCStressTest
@Description("A raise of a connection's sequence end never lands in the mapping that reuses its entry.")
@Outcome(id = "1, OK", expect = ACCEPTABLE, desc = "the mapping has its creator's use; the raise hit the connection or nothing")
@Outcome(id = "NOT_REUSED, .*", expect = FORBIDDEN, desc = "the killed entry was not freed once")
@Outcome(expect = FORBIDDEN, desc = "the raise wrote into the mapping's uses, or the table is inconsistent")
@State
public class SequenceEndReuseRace
{
    static final int RAISED = 0x7000_0000;

    final ConntrackTable table = new ConntrackTable(1, 0);
    final ConntrackTable.Cursor writerCursor = new ConntrackTable.Cursor();
    final ConntrackTable.Cursor raiserCursor = new ConntrackTable.Cursor();
    final int entry;
    final int status;
    String reuse = "NOT_RUN";

    public SequenceEndReuseRace()
    {
        entry = connect(table, writerCursor, ORIG1_A, ORIG1_B, REPLY1_A, REPLY1_B, EXTRA1);
        status = table.status(entry);
    }

    @Actor
    public void raiser()
    {
        table.raiseSequenceEnd(raiserCursor, entry, status, RAISED);
    }

    @Actor
    public void writer()
    {
        if (!table.kill(writerCursor, entry, status))
        {
            reuse = "NOT_KILLED";
            return;
        }
        final int mapping = allocateFreed(table);
        if (mapping != entry)
        {
            reuse = "NOT_REUSED";
            return;
        }
        table.initialise(mapping, MappingDescriptor.endpointAddresses(CLIENT_1), MappingDescriptor.endpointPorts(Ipv4Header.PROTO_TCP, CLIENT_PORT),
            MappingDescriptor.externalAddresses(POOL), MappingDescriptor.externalPorts(Ipv4Header.PROTO_TCP, CLIENT_PORT),
            StatusDescriptor.MAPPED, 0, DEADLINE_MS);
        table.startUses(mapping);
        table.claim(writerCursor, mapping, REPLY);
        table.confirm(mapping);
        table.claim(writerCursor, mapping, ORIGINAL);
        reuse = "REUSED";
    }

    @Arbiter
    public void verdict(final LL_Result r)
    {
        if (!"REUSED".equals(reuse))
        {
            r.r1 = reuse;
            r.r2 = "-";
            return;
        }
        r.r1 = String.valueOf(table.uses(entry));
        final String freeList = table.countMappings() != 1 ? "MAPPINGS_" + table.countMappings() : freeListProblem(table);
        r.r2 = freeList != null ? freeList : "OK";
    }
}
