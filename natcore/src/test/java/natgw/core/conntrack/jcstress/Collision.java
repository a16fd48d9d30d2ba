package natgw.core.conntrack.jcstress;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.StatusDescriptor;

import static natgw.core.conntrack.ConntrackTable.ORIGINAL;
import static natgw.core.conntrack.ConntrackTable.REPLY;
import static natgw.core.conntrack.jcstress.Fixture.*;

/** Arbiter of the two-client collision races. */
final class Collision
{
    private Collision()
    {
    }

    static String verdict(final ConntrackTable table, final int entry1, final int entry2)
    {
        if (entry1 < 0 || entry2 < 0)
        {
            return entry1 < 0 && entry2 < 0 ? "BOTH_DROPPED" : checked(table, "DROP", Math.max(entry1, entry2));
        }
        if (entry1 == entry2)
        {
            return "ONE_ENTRY_FOR_TWO_CONNECTIONS";
        }
        if (table.tupleAddresses(entry1, REPLY) == table.tupleAddresses(entry2, REPLY) &&
            table.tuplePorts(entry1, REPLY) == table.tuplePorts(entry2, REPLY))
        {
            return "SAME_REPLY_TUPLE";
        }
        if (!holds(table, entry1, ORIG1_A, ORIG1_B) || !holds(table, entry2, ORIG2_A, ORIG2_B))
        {
            return "NOT_IN_TABLE";
        }
        return checked(table, "DISTINCT", entry1, entry2);
    }

    private static String checked(final ConntrackTable table, final String verdict, final int... entries)
    {
        if (table.countInUse() != entries.length)
        {
            return "ENTRIES_IN_USE_" + table.countInUse();
        }
        final String freeList = Fixture.freeListProblem(table);
        return freeList != null ? freeList : verdict;
    }

    /** Both tuples of the entry are found, CONFIRMED, pointing at it. */
    static boolean holds(final ConntrackTable table, final int entry, final long origAddresses, final long origPorts)
    {
        final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
        return table.lookup(cursor, origAddresses, origPorts) && cursor.entry() == entry && cursor.dir() == ORIGINAL &&
            StatusDescriptor.phase(cursor.status()) == StatusDescriptor.PHASE_CONFIRMED &&
            table.lookup(cursor, table.tupleAddresses(entry, REPLY), table.tuplePorts(entry, REPLY)) &&
            cursor.entry() == entry && cursor.dir() == REPLY;
    }
}
