package natgw.core.nat;

import java.util.HashSet;
import java.util.Set;

import org.junit.jupiter.api.Test;

import natgw.core.conntrack.ConntrackCounter;
import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.MappingDescriptor;
import natgw.core.conntrack.StatusDescriptor;
import natgw.core.conntrack.TcpState;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.core.flow.QueueSteering;
import natgw.core.packet.DropReason;
import natgw.core.packet.TcpHeader;

import static natgw.core.conntrack.ConntrackTable.ORIGINAL;
import static natgw.core.conntrack.ConntrackTable.REPLY;
import static natgw.core.flow.FlowTuple.parseAddress;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** NatAllocator with endpoint-independent mapping: one external endpoint per inside endpoint, held by its connections. */
class NatAllocatorMappingTest
{
    private static final int HOST_A = parseAddress("10.0.0.2");
    private static final int HOST_B = parseAddress("10.0.0.3");
    private static final int SERVER = parseAddress("203.0.113.9");
    private static final int POOL = parseAddress("198.51.100.1");
    private static final int TCP = 6;
    private static final int UDP = 17;
    private static final int ICMP = 1;
    private static final int SRC_NAT = StatusDescriptor.SRC_NAT;

    private final WorkerCounters counters = new WorkerCounters(0);
    private final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
    private ConntrackTable table = new ConntrackTable(1024, 0);
    private NatAllocator allocator = allocator();

    private NatAllocator allocator()
    {
        return new NatAllocator(table, PortStrategy.RESERVE, counters, 0, true, 42, EndpointDependence.ENDPOINT_INDEPENDENT);
    }

    private int connect(final int host, final int protocol, final int hostPort, final int server, final int serverPort)
    {
        return connect(host, protocol, hostPort, server, serverPort, 1024, 65535, SRC_NAT);
    }

    private int connect(
        final int host, final int protocol, final int hostPort, final int server, final int serverPort, final int portLow, final int portHigh,
        final int flags)
    {
        return allocator.connect(cursor, FlowTuple.packAddresses(host, server), FlowTuple.packPorts(protocol, hostPort, serverPort),
            POOL, server, serverPort, portLow, portHigh, flags, 0, 1000);
    }

    private int natPort(final int entry)
    {
        return FlowTuple.dstPort(table.tuplePorts(entry, REPLY));
    }

    private int mappingOf(final int host, final int protocol, final int hostPort)
    {
        assertTrue(table.lookup(cursor, MappingDescriptor.endpointAddresses(host), MappingDescriptor.endpointPorts(protocol, hostPort)),
            "a mapping for " + FlowTuple.addressToString(host) + ":" + hostPort);
        assertTrue(StatusDescriptor.isMapping(cursor.status()));
        return cursor.entry();
    }

    @Test
    void shouldReuseOneMappingForFourDestinationsAfterACollision()
    {
        final int b = connect(HOST_B, UDP, 40000, SERVER, 53);
        assertEquals(40000, natPort(b), "B keeps its port");

        final Set<Integer> ports = new HashSet<>();
        for (int i = 0; i < 4; i++)
        {
            final int entry = connect(HOST_A, UDP, 40000, SERVER + 1 + i, 3478);
            assertTrue(entry >= 0);
            ports.add(natPort(entry));
            assertEquals(POOL, FlowTuple.dstAddress(table.tupleAddresses(entry, REPLY)));
        }
        assertEquals(1, ports.size(), "one external port for all of A's destinations: " + ports);
        assertNotEquals(40000, ports.iterator().next(), "B's port is B's alone");
        assertEquals(2, counters.get(ConntrackCounter.MAPPINGS_CREATED));
        assertEquals(2, table.countMappings());
        assertEquals(4, table.uses(mappingOf(HOST_A, UDP, 40000)));
        assertEquals(1, table.uses(mappingOf(HOST_B, UDP, 40000)));
    }

    @Test
    void shouldMapTcpAndUdpOfOnePortApart()
    {
        final int udp = connect(HOST_A, UDP, 40000, SERVER, 443);
        final int tcp = connect(HOST_A, TCP, 40000, SERVER, 443, 1024, 65535, SRC_NAT | TcpState.SYN_SENT << StatusDescriptor.TCP_STATE_SHIFT);
        assertEquals(40000, natPort(udp));
        assertEquals(40000, natPort(tcp), "ports of two protocols are apart, as the kernel's");
        assertEquals(2, table.countMappings());
    }

    @Test
    void shouldNeverGiveOneExternalPortToTwoEndpointsUnderPortPressure()
    {
        final int ports = 8;
        final Set<Integer> given = new HashSet<>();
        for (int host = 0; host < ports; host++)
        {
            int external = -1;
            for (int server = 0; server < 3; server++)
            {
                final int entry = connect(HOST_A + host, UDP, 5000, SERVER + server, 53, 2000, 2000 + ports - 1, SRC_NAT);
                assertTrue(entry >= 0, "host " + host + " server " + server);
                external = server == 0 ? natPort(entry) : external;
                assertEquals(external, natPort(entry), "one mapping per endpoint");
            }
            assertTrue(given.add(external), "port " + external + " given twice");
        }
        // every port is some endpoint's: a ninth endpoint gets none, even to a server the others never talked to
        assertEquals(-1, connect(HOST_A + ports, UDP, 5000, SERVER + 100, 53, 2000, 2000 + ports - 1, SRC_NAT));
        assertEquals(DropReason.POOL_EXHAUSTED, allocator.dropReason());
        assertEquals(ports, table.countMappings());
        assertEquals(ports * 3, table.countInUse(), "no entry left behind by the refused endpoint");
    }

    @Test
    void shouldMapIcmpIdentifierIndependentlyOfTheServer()
    {
        final int first = connect(HOST_A, ICMP, 0x55, SERVER, 0);
        final int second = connect(HOST_A, ICMP, 0x55, SERVER + 1, 0);
        final int other = connect(HOST_B, ICMP, 0x55, SERVER, 0);
        assertEquals(0x55, natPort(first));
        assertEquals(0x55, natPort(second), "the same identifier to another server");
        assertNotEquals(0x55, natPort(other), "another host's identifier is its own");
        assertEquals(FlowTuple.packPorts(ICMP, 0, 0x55), table.tuplePorts(second, REPLY));
    }

    @Test
    void shouldReleaseTheMappingWhenItsLastConnectionIsKilled()
    {
        final int first = connect(HOST_A, UDP, 40000, SERVER, 53);
        final int second = connect(HOST_A, UDP, 40000, SERVER + 1, 53);
        final int mapping = mappingOf(HOST_A, UDP, 40000);
        assertFalse(table.kill(cursor, mapping, table.status(mapping)), "a mapping is not killed: it ends with its last use");

        assertTrue(table.kill(cursor, first, table.status(first)));
        assertEquals(1, table.uses(mapping));
        assertEquals(1, table.countMappings());
        assertTrue(table.kill(cursor, second, table.status(second)));
        assertEquals(0, table.countMappings());
        assertEquals(0, table.countInUse());

        // the port is free for another endpoint now
        assertEquals(40000, natPort(connect(HOST_B, UDP, 40000, SERVER, 53)));
    }

    @Test
    void shouldReleaseTheMappingOfAConnectionEvictedByEarlyDrop()
    {
        table = new ConntrackTable(2, 0);
        allocator = allocator();
        connect(HOST_A, UDP, 40000, SERVER, 53); // the mapping and its unanswered connection fill the table

        final int entry = connect(HOST_B, UDP, 40001, SERVER, 53);

        // B's mapping took the entry A's connection left (evicted, its mapping released), B's connection the mapping's
        assertTrue(entry >= 0);
        assertEquals(1, counters.get(ConntrackCounter.EARLY_DROP));
        assertEquals(1, table.countMappings());
        assertFalse(table.lookup(cursor, MappingDescriptor.endpointAddresses(HOST_A), MappingDescriptor.endpointPorts(UDP, 40000)));
        assertEquals(1, table.countInUse());
    }

    @Test
    void shouldReleaseANewMappingWhenItsFirstConnectionCannotBeMade()
    {
        table = new ConntrackTable(1, 0);
        allocator = allocator();

        assertEquals(-1, connect(HOST_A, UDP, 40000, SERVER, 53));

        assertEquals(DropReason.TABLE_FULL, allocator.dropReason());
        assertEquals(0, table.countMappings(), "the mapping went with its only use");
        assertEquals(0, table.countInUse());
        assertTrue(table.allocate() >= 0);
    }

    @Test
    void shouldAdoptTheSameFlowOnItsMapping()
    {
        final int first = connect(HOST_A, UDP, 40000, SERVER, 53);
        final int again = connect(HOST_A, UDP, 40000, SERVER, 53);
        assertEquals(first, again);
        assertEquals(1, table.uses(mappingOf(HOST_A, UDP, 40000)), "no use left behind by the adopter");
        assertEquals(1, table.countInUse());
    }

    @Test
    void shouldTakeOverAnEndedTcpConnectionOnTheMapping()
    {
        final int old = connect(HOST_A, TCP, 40000, SERVER, 443);
        table.compareAndSetStatus(old, table.status(old), StatusDescriptor.withTcpState(table.status(old), TcpState.TIME_WAIT));
        // the same server through another destination (a service): the same reply tuple
        final int entry = allocator.connect(cursor, FlowTuple.packAddresses(HOST_A, SERVER + 50), FlowTuple.packPorts(TCP, 40000, 80),
            POOL, SERVER, 443, 1024, 65535, SRC_NAT | StatusDescriptor.DST_NAT | TcpState.SYN_SENT << StatusDescriptor.TCP_STATE_SHIFT, 0, 1000);
        assertTrue(entry >= 0);
        assertEquals(1, counters.get(ConntrackCounter.TAKEN_OVER));
        assertEquals(1, table.uses(mappingOf(HOST_A, TCP, 40000)));
    }

    @Test
    void shouldDropAConnectionWhoseReplyTupleAnotherOfTheEndpointHolds()
    {
        connect(HOST_A, UDP, 40000, SERVER, 53);
        final int entry = allocator.connect(cursor, FlowTuple.packAddresses(HOST_A, SERVER + 50), FlowTuple.packPorts(UDP, 40000, 53),
            POOL, SERVER, 53, 1024, 65535, SRC_NAT | StatusDescriptor.DST_NAT, 0, 1000);
        assertEquals(-1, entry);
        assertEquals(DropReason.MAPPING_CLASH, allocator.dropReason());
        assertEquals(1, table.uses(mappingOf(HOST_A, UDP, 40000)));
        assertEquals(1, table.countInUse());
    }

    @Test
    void shouldSearchAServiceConnectionsPortAmongPortsNoMappingHolds()
    {
        assertEquals(40000, natPort(connect(HOST_B, UDP, 40000, SERVER, 53)));
        final int backend = SERVER + 20;
        final int entry = allocator.connect(cursor, FlowTuple.packAddresses(HOST_A, SERVER + 50), FlowTuple.packPorts(UDP, 40000, 53),
            POOL, backend, 53, 1024, 65535, SRC_NAT | StatusDescriptor.DST_NAT, 1, 1000, false, 0, TcpHeader.NO_TIMESTAMP);
        assertTrue(entry >= 0);
        assertNotEquals(40000, natPort(entry), "B's external port is B's alone, towards any server");
        assertEquals(1, table.countMappings(), "a service connection makes no mapping");
        assertFalse(table.lookup(cursor, MappingDescriptor.endpointAddresses(HOST_A), MappingDescriptor.endpointPorts(UDP, 40000)));
    }

    @Test
    void shouldAcceptAnInboundConnectionOnALiveMapping()
    {
        connect(HOST_A, UDP, 40000, SERVER, 3478);
        final int mapping = mappingOf(HOST_A, UDP, 40000);
        final int other = SERVER + 7;
        final long addresses = FlowTuple.packAddresses(other, POOL);
        final long ports = FlowTuple.packPorts(UDP, 9999, 40000);

        final int entry = allocator.accept(cursor, addresses, ports, mapping, table.status(mapping), StatusDescriptor.DST_NAT, 1000, 0);

        assertTrue(entry >= 0);
        assertEquals(FlowTuple.packAddresses(HOST_A, other), table.tupleAddresses(entry, REPLY));
        assertEquals(FlowTuple.packPorts(UDP, 40000, 9999), table.tuplePorts(entry, REPLY));
        assertEquals(2, table.uses(mapping));
        assertTrue(table.kill(cursor, entry, table.status(entry)));
        assertEquals(1, table.uses(mapping), "the inbound connection's use goes with it");
    }

    @Test
    void shouldRefuseAnInboundConnectionOnAnEndedMapping()
    {
        final int entry = connect(HOST_A, UDP, 40000, SERVER, 3478);
        final int mapping = mappingOf(HOST_A, UDP, 40000);
        final int status = table.status(mapping);
        table.kill(cursor, entry, table.status(entry));

        assertEquals(-1, allocator.accept(cursor, FlowTuple.packAddresses(SERVER + 7, POOL), FlowTuple.packPorts(UDP, 9999, 40000),
            mapping, status, StatusDescriptor.DST_NAT, 1000, 0));
        assertEquals(DropReason.NO_MAPPING, allocator.dropReason());
        assertEquals(0, table.countInUse());
        assertEquals(0, table.countMappings());
    }

    @Test
    void shouldRefuseEndpointIndependentMappingWithTheKernelsStrategies()
    {
        for (final PortStrategy strategy : new PortStrategy[] {PortStrategy.KERNEL, PortStrategy.RANDOM, PortStrategy.RANDOM_FULLY})
        {
            final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                () -> new NatAllocator(table, strategy, counters, 0, true, 1, EndpointDependence.ENDPOINT_INDEPENDENT));
            assertTrue(ex.getMessage().contains("reserve"), ex.getMessage());
            assertEquals(EndpointDependence.ADDRESS_AND_PORT_DEPENDENT, NatAllocator.defaultMapping(strategy));
        }
        assertEquals(EndpointDependence.ENDPOINT_INDEPENDENT, NatAllocator.defaultMapping(PortStrategy.RESERVE));
    }

    @Test
    void shouldAimAMappingsPortAtItsWorkersQueue()
    {
        allocator = allocator().steeredQueues(2, 0);
        for (int i = 0; i < 100; i++)
        {
            final int entry = connect(HOST_A + i, TCP, 40001, SERVER, 443);
            assertTrue(entry >= 0);
            final int external = natPort(entry);
            if (i > 0)
            {
                assertEquals(0, QueueSteering.portsQueue(443, external, 2), "host " + i + "'s mapping took port " + external);
            }
            assertEquals(external, natPort(connect(HOST_A + i, TCP, 40001, SERVER, 8443)), "one mapping");
        }
    }
}
