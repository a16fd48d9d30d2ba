package natgw.core.conntrack.jcstress;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.StatusDescriptor;
import natgw.core.nat.NatAllocator;

import static natgw.core.conntrack.ConntrackTable.ORIGINAL;
import static natgw.core.conntrack.ConntrackTable.REPLY;
import static natgw.core.conntrack.jcstress.Fixture.*;

/** Arbiter of the same-flow races: what two workers that created one flow at once ended with. */
final class SameFlow
{
    private SameFlow()
    {
    }

    /** What the pipeline does with a packet of the flow: use a confirmed connection, else create one. */
    static int firstPacket(final ConntrackTable table, final NatAllocator allocator, final ConntrackTable.Cursor cursor)
    {
        if (table.lookup(cursor, ORIG1_A, ORIG1_B) && StatusDescriptor.phase(cursor.status()) == StatusDescriptor.PHASE_CONFIRMED)
        {
            return cursor.entry();
        }
        return allocator.connect(cursor, ORIG1_A, ORIG1_B, POOL, SERVER, SERVER_PORT, PORT_LOW, PORT_HIGH, FLAGS, 0, DEADLINE_MS);
    }

    static String verdict(final ConntrackTable table, final int entry1, final int entry2, final long reply1, final long reply2)
    {
        if (entry1 < 0 || entry2 < 0)
        {
            return "DROP";
        }
        if (entry1 != entry2)
        {
            return "TWO_CONNECTIONS";
        }
        if (reply1 != reply2)
        {
            return "TWO_TRANSLATIONS";
        }
        if (table.countInUse() != 1)
        {
            return "ENTRIES_IN_USE_" + table.countInUse();
        }
        final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
        if (!table.lookup(cursor, ORIG1_A, ORIG1_B) || cursor.entry() != entry1 || cursor.dir() != ORIGINAL ||
            StatusDescriptor.phase(cursor.status()) != StatusDescriptor.PHASE_CONFIRMED)
        {
            return "ORIGINAL_NOT_FOUND";
        }
        if (!table.lookup(cursor, table.tupleAddresses(entry1, REPLY), reply1) || cursor.entry() != entry1 || cursor.dir() != REPLY)
        {
            return "REPLY_NOT_FOUND";
        }
        final String freeList = Fixture.freeListProblem(table);
        return freeList != null ? freeList : "SAME_CONNECTION";
    }

    /** After one worker dropped its packet: the other's connection alone is in the table. */
    static String afterDrop(final ConntrackTable table, final int entry1, final int entry2)
    {
        if (entry1 < 0 && entry2 < 0)
        {
            return "BOTH_DROPPED";
        }
        final int winner = Math.max(entry1, entry2);
        final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
        if (table.countInUse() != 1 || !table.lookup(cursor, ORIG1_A, ORIG1_B) || cursor.entry() != winner)
        {
            return "DROP_LEFT_TABLE_INCONSISTENT";
        }
        final String freeList = Fixture.freeListProblem(table);
        return freeList != null ? freeList : "DROP";
    }
}
