package natgw.core.nat;

import natgw.core.conntrack.ConntrackEvents;
import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.StatusDescriptor;
import natgw.core.conntrack.TcpState;
import natgw.core.packet.Ipv4Header;

/**
 * Keeps per-backend counters right when DNAT'ed connections end: one fewer live connection (the
 * lc/wlc schedulers read it), and a SYN that was never answered when a TCP connection ends in
 * SYN_SENT without a reply (incident 3's other evidence).
 */
public final class ServiceAccounting implements ConntrackEvents
{
    private final BackendCounters counters;

    public ServiceAccounting(final BackendCounters counters)
    {
        this.counters = counters;
    }

    public void onEvent(final int type, final ConntrackTable table, final int entry, final int status)
    {
        if (type != DESTROY || (status & StatusDescriptor.DST_NAT) == 0)
        {
            return;
        }
        final int backend = table.backend(entry);
        if (backend < 0 || backend >= BackendCounters.MAX_BACKENDS)
        {
            return;
        }
        counters.add(backend, BackendCounters.LIVE, -1);
        if ((status & StatusDescriptor.SEEN_REPLY) == 0 && StatusDescriptor.tcpState(status) == TcpState.SYN_SENT &&
            (table.tuplePorts(entry, ConntrackTable.ORIGINAL) >>> 32 & 0xFF) == Ipv4Header.PROTO_TCP)
        {
            counters.add(backend, BackendCounters.SYN_UNANSWERED, 1);
        }
    }
}
