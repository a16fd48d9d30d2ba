package natgw.core.conntrack.jcstress;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.StatusDescriptor;

/** What a worker sees when it looks a tuple up and reads the connection it found, as the pipeline does. */
final class View
{
    private View()
    {
    }

    /**
     * Looks {@code (addresses, ports)} up and reads the other direction's tuple, the policy data and the flags.
     *
     * @return NONE (miss), RESERVED / DYING / CONFIRMED (found, all fields as expected, still valid),
     * STALE (found, but the entry was reused under the reader: the incarnation check refused it), or
     * HALF (the check accepted fields that are not the connection's).
     */
    static String read(
        final ConntrackTable table,
        final ConntrackTable.Cursor cursor,
        final long addresses,
        final long ports,
        final long otherAddresses,
        final long otherPorts,
        final int extra)
    {
        if (!table.lookup(cursor, addresses, ports))
        {
            return "NONE";
        }
        return judge(table, cursor.entry(), cursor.dir(), cursor.status(), addresses, ports, otherAddresses, otherPorts, extra);
    }

    /**
     * As {@link #read}, through the packet path's lookup: {@link ConntrackTable#findLinked}, then the
     * fields, then {@link ConntrackTable#sameIncarnation}. NONE also stands for a walk that met a change.
     */
    static String readLinked(
        final ConntrackTable table,
        final long addresses,
        final long ports,
        final long otherAddresses,
        final long otherPorts,
        final int extra)
    {
        final long found = table.findLinked(addresses, ports, table.bucket(addresses, ports));
        if (found == ConntrackTable.NOT_FOUND)
        {
            return "NONE";
        }
        return judge(table, ConntrackTable.foundEntry(found), ConntrackTable.foundDir(found), ConntrackTable.foundStatus(found),
            addresses, ports, otherAddresses, otherPorts, extra);
    }

    /**
     * Reads the connection found in {@code entry} for its {@code dir} tuple {@code (addresses, ports)}, then checks the
     * incarnation ({@link ConntrackTable#sameIncarnation}, which {@link ConntrackTable#stillValid} is for a
     * cursor): STALE, HALF, or the phase; see {@link #read}.
     */
    private static String judge(
        final ConntrackTable table,
        final int entry,
        final int dir,
        final int status,
        final long addresses,
        final long ports,
        final long otherAddresses,
        final long otherPorts,
        final int extra)
    {
        final long readAddresses = table.tupleAddresses(entry, dir ^ 1);
        final long readPorts = table.tuplePorts(entry, dir ^ 1);
        final long ownAddresses = table.tupleAddresses(entry, dir);
        final long ownPorts = table.tuplePorts(entry, dir);
        final int readExtra = table.extra(entry);
        if (!table.sameIncarnation(entry, status))
        {
            return "STALE";
        }
        if (readAddresses != otherAddresses || readPorts != otherPorts || ownAddresses != addresses || ownPorts != ports || readExtra != extra ||
            (status & StatusDescriptor.SRC_NAT) == 0)
        {
            return "HALF";
        }
        return phaseName(status);
    }

    private static String phaseName(final int status)
    {
        switch (StatusDescriptor.phase(status))
        {
            case StatusDescriptor.PHASE_RESERVED: return "RESERVED";
            case StatusDescriptor.PHASE_CONFIRMED: return "CONFIRMED";
            case StatusDescriptor.PHASE_DYING: return "DYING";
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
        final long addresses,
        final long ports,
        final long oldOtherA,
        final long oldOtherB,
        final int oldExtra,
        final long newOtherA,
        final long newOtherB,
        final int newExtra)
    {
        if (!table.lookup(cursor, addresses, ports))
        {
            return "NONE";
        }
        final int entry = cursor.entry();
        final int dir = cursor.dir();
        final long readAddresses = table.tupleAddresses(entry, dir ^ 1);
        final long readPorts = table.tuplePorts(entry, dir ^ 1);
        final int readExtra = table.extra(entry);
        final int status = cursor.status();
        if (!table.stillValid(cursor))
        {
            return "STALE";
        }
        final String which;
        if (readAddresses == oldOtherA && readPorts == oldOtherB && readExtra == oldExtra)
        {
            which = "OLD_";
        }
        else if (readAddresses == newOtherA && readPorts == newOtherB && readExtra == newExtra)
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
