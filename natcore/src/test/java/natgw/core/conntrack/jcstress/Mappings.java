package natgw.core.conntrack.jcstress;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.MappingDescriptor;
import natgw.core.conntrack.StatusDescriptor;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.core.nat.EndpointDependence;
import natgw.core.nat.NatAllocator;
import natgw.core.nat.PortStrategy;

import static natgw.core.conntrack.ConntrackTable.ORIGINAL;
import static natgw.core.conntrack.ConntrackTable.REPLY;

/** Arbiter of the endpoint mapping races: every connection on a live mapping of its endpoint, no mapping without one. */
final class Mappings
{
    private Mappings()
    {
    }

    static NatAllocator allocator(final ConntrackTable table, final long seed)
    {
        return new NatAllocator(table, PortStrategy.RESERVE, new WorkerCounters(0), 0, true, seed, EndpointDependence.ENDPOINT_INDEPENDENT);
    }

    /**
     * Null if every confirmed connection holding a mapping finds its endpoint's mapping linked and CONFIRMED, its reply
     * tuple on the mapping's external endpoint, and every mapping's uses are exactly its connections; else what is wrong.
     */
    static String problem(final ConntrackTable table)
    {
        final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
        final int[] uses = new int[table.capacity()];
        for (int entry = 0; entry < table.capacity(); entry++)
        {
            final int status = table.status(entry);
            if (StatusDescriptor.phase(status) == StatusDescriptor.PHASE_FREE || StatusDescriptor.isMapping(status))
            {
                continue;
            }
            if (!StatusDescriptor.isConfirmed(status) || (status & StatusDescriptor.MAPPED) == 0)
            {
                return "CONNECTION_NOT_CONFIRMED_OR_UNMAPPED";
            }
            final long addresses = table.tupleAddresses(entry, ORIGINAL);
            final long ports = table.tuplePorts(entry, ORIGINAL);
            if (!table.lookup(cursor, MappingDescriptor.endpointAddresses(FlowTuple.srcAddress(addresses)),
                MappingDescriptor.endpointPorts(FlowTuple.protocol(ports), FlowTuple.srcPort(ports))))
            {
                return "CONNECTION_ON_DEAD_MAPPING";
            }
            final int mapping = cursor.entry();
            if (cursor.dir() != ORIGINAL || !StatusDescriptor.isConfirmed(cursor.status()) || !StatusDescriptor.isMapping(cursor.status()))
            {
                return "MAPPING_NOT_CONFIRMED";
            }
            if (FlowTuple.dstAddress(table.tupleAddresses(entry, REPLY)) != MappingDescriptor.poolAddress(table.tupleAddresses(mapping, REPLY)) ||
                FlowTuple.dstPort(table.tuplePorts(entry, REPLY)) != MappingDescriptor.externalPort(table.tuplePorts(mapping, REPLY)))
            {
                return "CONNECTION_OFF_ITS_MAPPING";
            }
            uses[mapping]++;
        }
        for (int entry = 0; entry < table.capacity(); entry++)
        {
            final int status = table.status(entry);
            if (StatusDescriptor.phase(status) != StatusDescriptor.PHASE_FREE && StatusDescriptor.isMapping(status))
            {
                if (uses[entry] == 0)
                {
                    return "MAPPING_LEAKED";
                }
                if (table.uses(entry) != uses[entry])
                {
                    return "USES_" + table.uses(entry) + "_OF_" + uses[entry];
                }
                if (!table.lookup(cursor, table.tupleAddresses(entry, REPLY), table.tuplePorts(entry, REPLY)) || cursor.entry() != entry)
                {
                    return "MAPPING_PORT_NOT_LINKED";
                }
            }
        }
        return null;
    }
}
