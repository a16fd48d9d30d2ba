package natgw.gateway.control;

import org.junit.jupiter.api.Test;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.TcpState;
import natgw.core.flow.FlowTuple;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
        final int status = ConntrackTable.withTcpState(
            ConntrackTable.PHASE_CONFIRMED | ConntrackTable.SEEN_REPLY | ConntrackTable.ASSURED, TcpState.ESTABLISHED);
        ConntrackListing.format(sb,
            FlowTuple.packA(CLIENT, SERVER), FlowTuple.packB(6, 40000, 80),
            FlowTuple.packA(SERVER, POOL), FlowTuple.packB(6, 80, 40000),
            status, 431999, 3, 180, 2, 112, true);
        assertEquals("tcp      6 431999 ESTABLISHED src=10.77.1.2 dst=10.77.2.2 sport=40000 dport=80 packets=3 bytes=180 " +
            "src=10.77.2.2 dst=10.77.2.100 sport=80 dport=40000 packets=2 bytes=112 [ASSURED] mark=0 use=1", sb.toString());
    }

    @Test
    void shouldMarkAnUnrepliedUdpFlowAndPrintIcmpIdentifiers()
    {
        final StringBuilder udp = new StringBuilder();
        ConntrackListing.format(udp, FlowTuple.packA(CLIENT, SERVER), FlowTuple.packB(17, 5353, 53),
            FlowTuple.packA(SERVER, POOL), FlowTuple.packB(17, 53, 5353), ConntrackTable.PHASE_CONFIRMED, 29, 0, 0, 0, 0, false);
        assertEquals("udp      17 29 src=10.77.1.2 dst=10.77.2.2 sport=5353 dport=53 [UNREPLIED] " +
            "src=10.77.2.2 dst=10.77.2.100 sport=53 dport=5353 mark=0 use=1", udp.toString());

        final StringBuilder icmp = new StringBuilder();
        ConntrackListing.format(icmp, FlowTuple.packA(CLIENT, SERVER), FlowTuple.packB(1, 77, 0),
            FlowTuple.packA(SERVER, POOL), FlowTuple.packB(1, 0, 1077), ConntrackTable.PHASE_CONFIRMED | ConntrackTable.SEEN_REPLY,
            -1, 0, 0, 0, 0, false);
        assertEquals("icmp     1 src=10.77.1.2 dst=10.77.2.2 type=8 code=0 id=77 src=10.77.2.2 dst=10.77.2.100 type=0 code=0 id=1077 " +
            "mark=0 use=1", icmp.toString());
    }

    @Test
    void shouldFilterByProtocolSourceAndDestination()
    {
        final ConntrackListing.Filter filter = new ConntrackListing.Filter();
        filter.protocol = ConntrackListing.protocolNumber("udp");
        filter.src = CLIENT;
        assertTrue(filter.matches(FlowTuple.packA(CLIENT, SERVER), FlowTuple.packB(17, 1, 2)));
        assertFalse(filter.matches(FlowTuple.packA(CLIENT, SERVER), FlowTuple.packB(6, 1, 2)));
        assertFalse(filter.matches(FlowTuple.packA(SERVER, CLIENT), FlowTuple.packB(17, 1, 2)));
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
