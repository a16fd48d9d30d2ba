package natgw.core.conntrack.jcstress;

import natgw.core.conntrack.ConntrackTable;

/** What a worker sees when it looks a tuple up and reads the connection it found, as the pipeline does. */
final class View
{
    private View()
    {
    }

    /**
     * Looks {@code (a, b)} up and reads the other direction's tuple, the policy data and the flags.
     *
     * @return NONE (miss), RESERVED / DYING / CONFIRMED (found, all fields as expected, still valid),
     * STALE (found, but the entry was reused under the reader: the incarnation check refused it), or
     * HALF (the check accepted fields that are not the connection's).
     */
    static String read(
        final ConntrackTable table,
        final ConntrackTable.Cursor cursor,
        final long a,
        final long b,
        final long otherA,
        final long otherB,
        final int extra)
    {
        if (!table.lookup(cursor, a, b))
        {
            return "NONE";
        }
        return judge(table, cursor.entry(), cursor.dir(), cursor.status(), a, b, otherA, otherB, extra);
    }

    /**
     * As {@link #read}, through the packet path's lookup: {@link ConntrackTable#findLinked}, then the
     * fields, then {@link ConntrackTable#sameIncarnation}. NONE also stands for a walk that met a change.
     */
    static String readLinked(
        final ConntrackTable table,
        final long a,
        final long b,
        final long otherA,
        final long otherB,
        final int extra)
    {
        final long found = table.findLinked(a, b, table.bucket(a, b));
        if (found == ConntrackTable.NOT_FOUND)
        {
            return "NONE";
        }
        return judge(table, ConntrackTable.foundEntry(found), ConntrackTable.foundDir(found), ConntrackTable.foundStatus(found),
            a, b, otherA, otherB, extra);
    }

    /**
     * Reads the connection found in {@code entry} for its {@code dir} tuple {@code (a, b)}, then checks the
     * incarnation ({@link ConntrackTable#sameIncarnation}, which {@link ConntrackTable#stillValid} is for a
     * cursor): STALE, HALF, or the phase; see {@link #read}.
     */
    private static String judge(
        final ConntrackTable table,
        final int entry,
        final int dir,
        final int status,
        final long a,
        final long b,
        final long otherA,
        final long otherB,
        final int extra)
    {
        final long readA = table.tupleA(entry, dir ^ 1);
        final long readB = table.tupleB(entry, dir ^ 1);
        final long ownA = table.tupleA(entry, dir);
        final long ownB = table.tupleB(entry, dir);
        final int readExtra = table.extra(entry);
        if (!table.sameIncarnation(entry, status))
        {
            return "STALE";
        }
        if (readA != otherA || readB != otherB || ownA != a || ownB != b || readExtra != extra ||
            (status & ConntrackTable.SRC_NAT) == 0)
        {
            return "HALF";
        }
        return phaseName(status);
    }

    private static String phaseName(final int status)
    {
        switch (ConntrackTable.phase(status))
        {
            case ConntrackTable.PHASE_RESERVED: return "RESERVED";
            case ConntrackTable.PHASE_CONFIRMED: return "CONFIRMED";
            case ConntrackTable.PHASE_DYING: return "DYING";
            default: return "FREE";
        }
    }

    /**
     * As {@link #read} where the tuple may belong to either of two incarnations (a connection killed
     * and its entry reused for a new connection of the same original tuple): OLD_x or NEW_x if every
     * field read belongs to one of them, HALF if stillValid accepted a mix.
     */
    static String readEither(
        final ConntrackTable table,
        final ConntrackTable.Cursor cursor,
        final long a,
        final long b,
        final long oldOtherA,
        final long oldOtherB,
        final int oldExtra,
        final long newOtherA,
        final long newOtherB,
        final int newExtra)
    {
        if (!table.lookup(cursor, a, b))
        {
            return "NONE";
        }
        final int entry = cursor.entry();
        final int dir = cursor.dir();
        final long readA = table.tupleA(entry, dir ^ 1);
        final long readB = table.tupleB(entry, dir ^ 1);
        final int readExtra = table.extra(entry);
        final int status = cursor.status();
        if (!table.stillValid(cursor))
        {
            return "STALE";
        }
        final String which;
        if (readA == oldOtherA && readB == oldOtherB && readExtra == oldExtra)
        {
            which = "OLD_";
        }
        else if (readA == newOtherA && readB == newOtherB && readExtra == newExtra)
        {
            which = "NEW_";
        }
        else
        {
            return "HALF";
        }
        return which + phaseName(status);
    }
}
