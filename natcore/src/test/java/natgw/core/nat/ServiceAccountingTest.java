package natgw.core.nat;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import natgw.core.conntrack.ConntrackEvents;
import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.StatusDescriptor;
import natgw.core.conntrack.TcpState;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.core.packet.Ipv4Header;

import static natgw.core.flow.FlowTuple.parseAddress;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What happens to a backend's counters when a DNAT'ed connection ends (the table's kill listener). */
class ServiceAccountingTest
{
    private static final int CLIENT = parseAddress("203.0.113.9");
    private static final int VIP = parseAddress("10.96.0.10");
    private static final int BACKEND = parseAddress("10.0.1.1");
    private static final int BACKEND_ID = 3;

    private final ConntrackTable table = new ConntrackTable(64, 0);
    private final WorkerCounters workerCounters = new WorkerCounters(0);
    private final NatAllocator allocator = new NatAllocator(table, PortStrategy.RESERVE, workerCounters, 0, true, 42);
    private final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
    private final BackendCounters counters = new BackendCounters();
    private int clientPort = 40000;

    @BeforeEach
    void listen()
    {
        table.onKill(new ServiceAccounting(counters));
    }

    /** A connection as the pipeline creates it for a service, counted live as the pipeline counts it. */
    private int connect(final int protocol, final int flags, final int extra)
    {
        final long addresses = FlowTuple.packAddresses(CLIENT, VIP);
        final long ports = FlowTuple.packPorts(protocol, clientPort++, 80);
        final int entry = allocator.connect(cursor, addresses, ports, 0, BACKEND, 8080, 1024, 65535, flags, extra, 60_000);
        assertTrue(entry >= 0 && allocator.created());
        if (extra > 0)
        {
            counters.add(extra - 1, BackendCounters.LIVE, 1);
        }
        return entry;
    }

    private void change(final int entry, final int set, final int tcpState)
    {
        final int status = table.status(entry);
        assertTrue(table.compareAndSetStatus(entry, status, StatusDescriptor.withTcpState(status | set, tcpState)));
    }

    private void end(final int entry)
    {
        assertTrue(table.kill(cursor, entry, table.status(entry)));
    }

    private static int synSent()
    {
        return StatusDescriptor.DST_NAT | TcpState.SYN_SENT << StatusDescriptor.TCP_STATE_SHIFT;
    }

    @Test
    void shouldCountAnUnansweredSynWhenItsConnectionExpires()
    {
        end(connect(Ipv4Header.PROTO_TCP, synSent(), BACKEND_ID + 1));
        assertEquals(1, counters.get(BACKEND_ID, BackendCounters.SYN_UNANSWERED));
        assertEquals(0, counters.get(BACKEND_ID, BackendCounters.LIVE));
    }

    @Test
    void shouldNotCountAnsweredOrEstablishedConnectionsAsUnanswered()
    {
        final int reset = connect(Ipv4Header.PROTO_TCP, synSent(), BACKEND_ID + 1);
        change(reset, StatusDescriptor.SEEN_REPLY, TcpState.CLOSE); // the backend answered with a RST
        end(reset);
        final int established = connect(Ipv4Header.PROTO_TCP, synSent(), BACKEND_ID + 1);
        change(established, StatusDescriptor.SEEN_REPLY | StatusDescriptor.ASSURED, TcpState.ESTABLISHED);
        end(established);
        final int synAcked = connect(Ipv4Header.PROTO_TCP, synSent(), BACKEND_ID + 1);
        change(synAcked, StatusDescriptor.SEEN_REPLY, TcpState.SYN_SENT); // a reply seen, state not (yet) moved
        end(synAcked);
        assertEquals(0, counters.get(BACKEND_ID, BackendCounters.SYN_UNANSWERED));
        assertEquals(0, counters.get(BACKEND_ID, BackendCounters.LIVE), "every ended connection is one fewer live");
    }

    @Test
    void shouldNotCountUnrepliedUdpAsAnUnansweredSyn()
    {
        end(connect(Ipv4Header.PROTO_UDP, StatusDescriptor.DST_NAT, BACKEND_ID + 1));
        assertEquals(0, counters.get(BACKEND_ID, BackendCounters.SYN_UNANSWERED));
        assertEquals(0, counters.get(BACKEND_ID, BackendCounters.LIVE));
    }

    @Test
    void shouldIgnoreConnectionsWithoutBackend()
    {
        counters.add(0, BackendCounters.LIVE, 1);
        final int snatOnly = connect(Ipv4Header.PROTO_TCP, StatusDescriptor.SRC_NAT | TcpState.SYN_SENT << StatusDescriptor.TCP_STATE_SHIFT, 0);
        end(snatOnly);
        final int noExtra = connect(Ipv4Header.PROTO_TCP, synSent(), 0);
        end(noExtra);
        for (int id = 0; id < 8; id++)
        {
            assertEquals(0, counters.get(id, BackendCounters.SYN_UNANSWERED));
        }
        assertEquals(1, counters.get(0, BackendCounters.LIVE), "not taken from backend 0 (extra 0 = no backend)");
    }

    @Test
    void shouldIgnoreEventsOtherThanDestroy()
    {
        final ServiceAccounting accounting = new ServiceAccounting(counters);
        final int entry = connect(Ipv4Header.PROTO_TCP, synSent(), BACKEND_ID + 1);
        accounting.onEvent(ConntrackEvents.NEW, table, entry, table.status(entry));
        accounting.onEvent(ConntrackEvents.UPDATE, table, entry, table.status(entry));
        assertEquals(1, counters.get(BACKEND_ID, BackendCounters.LIVE));
        assertEquals(0, counters.get(BACKEND_ID, BackendCounters.SYN_UNANSWERED));
    }

    @Test
    void shouldAccountEachEndedConnectionOnce()
    {
        final int entry = connect(Ipv4Header.PROTO_TCP, synSent(), BACKEND_ID + 1);
        final int status = table.status(entry);
        assertTrue(table.kill(cursor, entry, status));
        assertEquals(false, table.kill(cursor, entry, status), "a second killer loses");
        assertEquals(1, counters.get(BACKEND_ID, BackendCounters.SYN_UNANSWERED));
        assertEquals(0, counters.get(BACKEND_ID, BackendCounters.LIVE));
    }
}
