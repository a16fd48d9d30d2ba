package natgw.gateway.control;

import java.util.List;

import org.junit.jupiter.api.Test;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.StatusDescriptor;
import natgw.core.conntrack.TcpState;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.core.nat.EndpointDependence;
import natgw.core.nat.NatAllocator;
import natgw.core.nat.PortStrategy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConntrackListingTest
{
    private static final int CLIENT = FlowTuple.parseAddress("10.77.1.2");
    private static final int SERVER = FlowTuple.parseAddress("10.77.2.2");
    private static final int POOL = FlowTuple.parseAddress("10.77.2.100");

    @Test
    void shouldPrintATcpConnectionAsConntrackToolsDoes()
    {
        final StringBuilder sb = new StringBuilder();
        final int status = StatusDescriptor.withTcpState(
            StatusDescriptor.PHASE_CONFIRMED | StatusDescriptor.SEEN_REPLY | StatusDescriptor.ASSURED, TcpState.ESTABLISHED);
        ConntrackListing.format(sb,
            FlowTuple.packAddresses(CLIENT, SERVER), FlowTuple.packPorts(6, 40000, 80),
            FlowTuple.packAddresses(SERVER, POOL), FlowTuple.packPorts(6, 80, 40000),
            status, 431999, 3, 180, 2, 112, true, true);
        assertEquals("tcp      6 431999 ESTABLISHED src=10.77.1.2 dst=10.77.2.2 sport=40000 dport=80 packets=3 bytes=180 " +
            "src=10.77.2.2 dst=10.77.2.100 sport=80 dport=40000 packets=2 bytes=112 [ASSURED] mark=0 use=1", sb.toString());
    }

    @Test
    void shouldMarkAnUnrepliedUdpFlowAndPrintIcmpIdentifiers()
    {
        final StringBuilder udp = new StringBuilder();
        ConntrackListing.format(udp, FlowTuple.packAddresses(CLIENT, SERVER), FlowTuple.packPorts(17, 5353, 53),
            FlowTuple.packAddresses(SERVER, POOL), FlowTuple.packPorts(17, 53, 5353), StatusDescriptor.PHASE_CONFIRMED, 29, 1, 30, 0, 0, true, true);
        assertEquals("udp      17 29 src=10.77.1.2 dst=10.77.2.2 sport=5353 dport=53 packets=1 bytes=30 [UNREPLIED] " +
            "src=10.77.2.2 dst=10.77.2.100 sport=53 dport=5353 packets=0 bytes=0 mark=0 use=1", udp.toString());

        final StringBuilder icmp = new StringBuilder();
        ConntrackListing.format(icmp, FlowTuple.packAddresses(CLIENT, SERVER), FlowTuple.packPorts(1, 77, 0),
            FlowTuple.packAddresses(SERVER, POOL), FlowTuple.packPorts(1, 0, 1077), StatusDescriptor.PHASE_CONFIRMED | StatusDescriptor.SEEN_REPLY,
            30, 0, 0, 0, 0, false, false);
        assertEquals("icmp     1 30 src=10.77.1.2 dst=10.77.2.2 type=8 code=0 id=77 src=10.77.2.2 dst=10.77.2.100 type=0 code=0 id=1077",
            icmp.toString());
    }

    @Test
    void shouldListMappingsApartFromConnections()
    {
        final ConntrackTable table = new ConntrackTable(16, 0);
        final NatAllocator allocator = new NatAllocator(table, PortStrategy.RESERVE, new WorkerCounters(0), 0, true, 1,
            EndpointDependence.ENDPOINT_INDEPENDENT);
        final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
        for (int i = 0; i < 2; i++)
        {
            allocator.connect(cursor, FlowTuple.packAddresses(CLIENT, SERVER + i), FlowTuple.packPorts(17, 5353, 53), POOL, SERVER + i, 53,
                1024, 65535, StatusDescriptor.SRC_NAT, 0, 30_000);
        }
        allocator.connect(cursor, FlowTuple.packAddresses(CLIENT + 1, SERVER), FlowTuple.packPorts(6, 40000, 80), POOL, SERVER, 80,
            1024, 65535, StatusDescriptor.SRC_NAT | TcpState.SYN_SENT << StatusDescriptor.TCP_STATE_SHIFT, 0, 30_000);

        final StringBuilder out = new StringBuilder();
        assertEquals(2, ConntrackListing.mappings(table, new ConntrackListing.Filter(), out));
        assertEquals(List.of("udp      17 inside=10.77.1.2:5353 external=10.77.2.100:5353 use=2",
            "tcp      6 inside=10.77.1.3:40000 external=10.77.2.100:40000 use=1"), out.toString().lines().sorted(java.util.Comparator.reverseOrder()).toList());
        final ConntrackListing.Filter tcp = new ConntrackListing.Filter();
        tcp.protocol = 6;
        assertEquals(1, ConntrackListing.mappings(table, tcp, new StringBuilder()));
        assertEquals(3, ConntrackListing.visit(table, 0, new ConntrackListing.Filter(), false, (e, s, l) -> true), "connections only");
    }

    @Test
    void shouldFilterByProtocolSourceAndDestination()
    {
        final ConntrackListing.Filter filter = new ConntrackListing.Filter();
        filter.protocol = ConntrackListing.protocolNumber("udp");
        filter.src = CLIENT;
        final long reply = FlowTuple.packAddresses(SERVER, POOL);
        assertTrue(filter.matches(FlowTuple.packAddresses(CLIENT, SERVER), FlowTuple.packPorts(17, 1, 2), reply, FlowTuple.packPorts(17, 2, 1)));
        assertFalse(filter.matches(FlowTuple.packAddresses(CLIENT, SERVER), FlowTuple.packPorts(6, 1, 2), reply, FlowTuple.packPorts(6, 2, 1)));
        assertFalse(filter.matches(FlowTuple.packAddresses(SERVER, CLIENT), FlowTuple.packPorts(17, 1, 2), reply, FlowTuple.packPorts(17, 2, 1)));
    }

    @Test
    void shouldFilterByTheReplyTupleAndPorts()
    {
        final ConntrackRequest request = ConntrackRequest.parse(
            List.of("-L", "-p", "tcp", "--reply-dst", "10.77.2.100", "--dport", "80", "--reply-port-dst", "1024"));
        final ConntrackListing.Filter filter = request.filter;
        assertTrue(filter.matches(FlowTuple.packAddresses(CLIENT, SERVER), FlowTuple.packPorts(6, 40000, 80),
            FlowTuple.packAddresses(SERVER, POOL), FlowTuple.packPorts(6, 80, 1024)));
        assertFalse(filter.matches(FlowTuple.packAddresses(CLIENT, SERVER), FlowTuple.packPorts(6, 40000, 80),
            FlowTuple.packAddresses(SERVER, POOL), FlowTuple.packPorts(6, 80, 1025)), "another NAT port");
        assertFalse(filter.matches(FlowTuple.packAddresses(CLIENT, SERVER), FlowTuple.packPorts(6, 40000, 80),
            FlowTuple.packAddresses(SERVER, CLIENT), FlowTuple.packPorts(6, 80, 1024)), "not translated to the pool");
    }

    @Test
    void shouldRefuseAGetWithoutTheWholeTupleAsConntrackDoes()
    {
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> ConntrackRequest.parse(List.of("-G", "-p", "udp", "-s", "10.77.1.2", "-d", "10.77.2.2", "--dport", "53")));
        assertTrue(ex.getMessage().contains("--sport"), ex.getMessage());
        assertTrue(ConntrackRequest.parse(List.of("-G", "-p", "icmp", "-s", "10.77.1.2", "-d", "10.77.2.2", "--icmp-id", "7"))
            .filter.isExact());
    }

    @Test
    void shouldPrintEventsAsConntrackToolsDoes()
    {
        // what conntrack -E -o timestamp,extended printed for the kernel's connections (conntrack-tools 1.4.7, Linux 6.18)
        final StringBuilder sb = new StringBuilder();
        ConntrackListing.timestamp(sb, 1796520083_588436L);
        sb.append(ConntrackListing.eventName(0)).append(ConntrackListing.EXTENDED_PREFIX);
        ConntrackListing.format(sb, FlowTuple.packAddresses(parseIp("10.66.0.1"), parseIp("10.66.0.2")), FlowTuple.packPorts(6, 55768, 8080),
            FlowTuple.packAddresses(parseIp("10.66.0.2"), parseIp("10.66.0.1")), FlowTuple.packPorts(6, 8080, 55768),
            StatusDescriptor.withTcpState(StatusDescriptor.PHASE_CONFIRMED, TcpState.SYN_SENT), 120, 0, 0, 0, 0, false, false);
        assertEquals("[1796520083.588436]\t    [NEW] ipv4     2 tcp      6 120 SYN_SENT src=10.66.0.1 dst=10.66.0.2 sport=55768 " +
            "dport=8080 [UNREPLIED] src=10.66.0.2 dst=10.66.0.1 sport=8080 dport=55768", sb.toString());

        sb.setLength(0);
        sb.append(ConntrackListing.eventName(2));
        ConntrackListing.format(sb, FlowTuple.packAddresses(parseIp("10.66.0.1"), parseIp("10.66.0.2")), FlowTuple.packPorts(1, 21480, 0),
            FlowTuple.packAddresses(parseIp("10.66.0.2"), parseIp("10.66.0.1")), FlowTuple.packPorts(1, 0, 21480),
            StatusDescriptor.PHASE_CONFIRMED | StatusDescriptor.SEEN_REPLY, 29, 1, 84, 1, 84, true, false);
        assertEquals("[DESTROY] icmp     1 29 src=10.66.0.1 dst=10.66.0.2 type=8 code=0 id=21480 packets=1 bytes=84 " +
            "src=10.66.0.2 dst=10.66.0.1 type=0 code=0 id=21480 packets=1 bytes=84", sb.toString());

        sb.setLength(0);
        ConntrackListing.timestamp(sb, 1_000_000_042L);
        assertEquals("[1000.000042]\t", sb.toString());
    }

    @Test
    void shouldPrintTheKernelsStatsFieldsFirstByteForByte()
    {
        final natgw.core.conntrack.WorkerCounters counters = new natgw.core.conntrack.WorkerCounters(1);
        counters.add(natgw.core.conntrack.ConntrackCounter.FOUND, 7);
        counters.drop(natgw.core.packet.DropReason.BAD_L4_CHECKSUM);
        final String line = ConntrackStatsLine.format(counters);
        assertTrue(line.startsWith("cpu=1   \tfound=7 invalid=0 insert=0 insert_failed=0 drop=0 early_drop=0 error=1 " +
            "search_restart=0 clash_resolve=0 chaintoolong=0 "), line);
        assertTrue(line.contains(" drop_bad_l4_checksum=1 "), line);
    }

    private static int parseIp(final String address)
    {
        return FlowTuple.parseAddress(address);
    }

    @Test
    void shouldFlagOnlyABackendThatResetsClearlyMoreThanItsSiblings()
    {
        assertTrue(ServiceControl.suspicious(100, 25, 300, 0), "a ghost resetting 1 in 4");
        assertFalse(ServiceControl.suspicious(100, 2, 300, 0), "too few resets to say");
        assertFalse(ServiceControl.suspicious(100, 25, 300, 60), "its siblings reset as often: the service, not a backend");
        assertFalse(ServiceControl.suspicious(0, 0, 0, 0));
    }
}
