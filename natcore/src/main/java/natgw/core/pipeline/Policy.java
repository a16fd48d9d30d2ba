package natgw.core.pipeline;

import org.agrona.MutableDirectBuffer;

import natgw.core.conntrack.ConntrackCounter;
import natgw.core.conntrack.ConntrackEvents;
import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.MappingDescriptor;
import natgw.core.conntrack.StatusDescriptor;
import natgw.core.conntrack.TcpState;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.core.nat.AffinityTable;
import natgw.core.nat.Backend;
import natgw.core.nat.BackendCounters;
import natgw.core.nat.EndpointDependence;
import natgw.core.nat.NatAllocator;
import natgw.core.nat.Service;
import natgw.core.nat.ServiceTable;
import natgw.core.nat.SnatPolicy;
import natgw.core.packet.DropReason;
import natgw.core.packet.IcmpHeader;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.TcpHeader;

import static natgw.core.conntrack.ConntrackTable.ORIGINAL;
import static natgw.core.conntrack.StatusDescriptor.DST_NAT;
import static natgw.core.conntrack.StatusDescriptor.SRC_NAT;
import static natgw.core.conntrack.StatusDescriptor.TCP_STATE_SHIFT;

/**
 * The policy stage (Linux: {@code nf_nat_masquerade.c} and IPVS's scheduling): what a packet without a
 * confirmed connection gets. DNAT to a scheduled backend for a service VIP:port (plus SNAT when the
 * client is inside or is the backend itself: hairpin), SNAT for inside sources, anything else forwarded
 * unchanged and untracked; and the end of a flow whose backend was removed. It chooses targets and
 * ranges; {@link NatAllocator} creates the connection.
 * <p>
 * A packet to a pool address goes to the inside endpoint of the live mapping of its port (endpoint-independent
 * mapping only; otherwise, or with no such mapping, it is dropped, {@code no_mapping}):
 * <ul>
 *   <li>from inside, it is hairpinned (RFC 4787 REQ-9, RFC 5382 REQ-8): destination the mapping's inside
 *   endpoint, source the sender's own mapping (REQ-9b), whatever the filtering: the sender is an inside host,
 *   which may send anywhere;</li>
 *   <li>from outside, the filtering decides: endpoint-independent opens a connection to the inside endpoint;
 *   address-dependent too if the endpoint has a connection to the sender's address (a permission, see
 *   {@link MappingDescriptor#permissionAddresses}); address-and-port-dependent (as Linux) drops it, {@code filtered}:
 *   a packet of a connection found it before this stage.</li>
 * </ul>
 */
final class Policy
{
    /** {@link #connectToService}: the service has no backend to take the connection. */
    private static final int NO_BACKEND_TO_REJECT = Integer.MIN_VALUE;

    private final ConntrackTable table;
    private final ConntrackTable.Cursor cursor;
    private final NatAllocator allocator;
    private final SnatPolicy snat;
    private final WorkerCounters counters;
    private final BackendCounters backendCounters;
    private final AffinityTable affinity;
    private final boolean resetRemovedBackendFlows;
    private final Tracking tracking;
    private final Batch batch;
    private final Ipv4Header ip;
    private final TcpHeader tcp;
    private final IcmpHeader icmp;
    private int random = 0x2545F491;
    private EndpointDependence filtering = EndpointDependence.ADDRESS_AND_PORT_DEPENDENT;
    private boolean rejectFiltered;

    Policy(
        final ConntrackTable table,
        final ConntrackTable.Cursor cursor,
        final NatAllocator allocator,
        final SnatPolicy snat,
        final WorkerCounters counters,
        final BackendCounters backendCounters,
        final AffinityTable affinity,
        final boolean resetRemovedBackendFlows,
        final Tracking tracking,
        final Batch batch,
        final Ipv4Header ip,
        final TcpHeader tcp,
        final IcmpHeader icmp)
    {
        this.table = table;
        this.cursor = cursor;
        this.allocator = allocator;
        this.snat = snat;
        this.counters = counters;
        this.backendCounters = backendCounters;
        this.affinity = affinity;
        this.resetRemovedBackendFlows = resetRemovedBackendFlows;
        this.tracking = tracking;
        this.batch = batch;
        this.ip = ip;
        this.tcp = tcp;
        this.icmp = icmp;
    }

    void filtering(final EndpointDependence filtering)
    {
        if ((filtering == EndpointDependence.ADDRESS_DEPENDENT) != table.permissions())
        {
            throw new IllegalArgumentException("address-dependent filtering needs the table's permissions on, and only it: " +
                "ConntrackTable.permissions(" + (filtering == EndpointDependence.ADDRESS_DEPENDENT) + ") before the table is used");
        }
        this.filtering = filtering;
    }

    /** True: a packet the filtering refuses is answered (TCP RST, ICMP administratively prohibited); false: dropped. */
    void rejectFiltered(final boolean reject)
    {
        this.rejectFiltered = reject;
    }

    /**
     * For a packet that found no confirmed connection: DNAT to a service's backend, SNAT for an inside
     * source, or a verdict. The header flyweights are on the packet.
     *
     * @return the connection's entry (the cursor on it), or a {@link Verdict#done} for a packet that is done
     * (dropped, forwarded untracked, or answered in its buffer).
     */
    int miss(
        final MutableDirectBuffer buffer,
        final int offset,
        final long addresses,
        final long ports,
        final int fields,
        final ServiceTable serviceTable,
        final int nowMs)
    {
        final int src = FlowTuple.srcAddress(addresses);
        final int dst = FlowTuple.dstAddress(addresses);
        final int protocol = FlowTuple.protocol(ports);
        final int dstPort = FlowTuple.dstPort(ports);
        final int tcpFlags = Batch.tcpFlags(fields);
        final Service service = serviceTable.isEmpty() ? null : serviceTable.find(protocol, dst, dstPort);
        if (service == null && serviceTable.isVip(dst))
        {
            return Verdict.done(Verdict.drop(DropReason.NO_BACKEND));
        }
        if (snat.isPoolAddress(dst))
        {
            return toMapping(buffer, offset, fields, addresses, ports, src, dst, protocol, dstPort, tcpFlags, nowMs);
        }
        if (service == null && (!snat.isInside(src) || snat.isPoolAddress(src)))
        {
            return Verdict.done(untracked());
        }
        int initialState = 0;
        if (protocol == Ipv4Header.PROTO_TCP)
        {
            initialState = TcpState.next(ORIGINAL, tcpFlags, TcpState.NONE);
            if (initialState >= TcpState.INVALID)
            {
                return Verdict.done(Verdict.drop(DropReason.TCP_INVALID_NEW));
            }
        }
        else if (protocol == Ipv4Header.PROTO_ICMP && icmp.type() == IcmpHeader.ECHO_REPLY)
        {
            // only a request starts a query (nf_conntrack_proto_icmp valid_new): a reply has no mapping to use
            return Verdict.done(Verdict.drop(DropReason.UNSUPPORTED_ICMP));
        }
        final int entry;
        if (service != null)
        {
            entry = connectToService(service, addresses, ports, src, protocol, initialState, nowMs);
            if (entry == NO_BACKEND_TO_REJECT)
            {
                // like kube-proxy's REJECT for a service without endpoints: fail fast, never hang
                counters.increment(ConntrackCounter.REJECTED);
                return reject(buffer, offset, fields, protocol, IcmpHeader.CODE_PORT_UNREACHABLE);
            }
            if (!Verdict.isEntry(entry))
            {
                return entry;
            }
        }
        else
        {
            entry = allocator.connect(
                cursor, addresses, ports, snat.addressFor(src, dst), dst, dstPort, snat.portLow(), snat.portHigh(),
                SRC_NAT | initialState << TCP_STATE_SHIFT, 0,
                nowMs + tracking.initialTimeoutMs(protocol, initialState), true, sequence(protocol), timestamp(protocol));
            if (entry < 0)
            {
                return Verdict.done(Verdict.drop(allocator.dropReason()));
            }
        }
        if (allocator.created())
        {
            tracking.events().onEvent(ConntrackEvents.NEW, table, entry, cursor.status());
        }
        return entry;
    }

    /**
     * The connection at the cursor, whose original tuple the SYN's {@code addresses, ports} are, is about to be ended by
     * that SYN to reopen it: its NAT port goes to the new one first ({@link NatAllocator#reopened}). Read before the
     * kill, and kept only if the entry was still that connection.
     */
    void reopening(final int entry, final long addresses, final long ports)
    {
        final int natPort = FlowTuple.dstPort(table.tuplePorts(entry, ConntrackTable.REPLY));
        if (table.stillValid(cursor))
        {
            allocator.reopened(addresses, ports, natPort);
        }
    }

    /** The packet's TCP sequence number, for the allocator (0 for other protocols, whose header the flyweight is not on). */
    private int sequence(final int protocol)
    {
        return protocol == Ipv4Header.PROTO_TCP ? tcp.sequence() : 0;
    }

    /** The packet's TCP TSval, for the allocator's take-overs ({@link TcpHeader#NO_TIMESTAMP} for none and for other protocols). */
    private long timestamp(final int protocol)
    {
        return protocol == Ipv4Header.PROTO_TCP ? tcp.timestampValue() : TcpHeader.NO_TIMESTAMP;
    }

    /** A first packet to a pool address: see the class comment. */
    private int toMapping(
        final MutableDirectBuffer buffer, final int offset, final int fields,
        final long addresses, final long ports, final int src, final int dst, final int protocol, final int dstPort, final int tcpFlags,
        final int nowMs)
    {
        if (!allocator.endpointIndependent() || protocol == Ipv4Header.PROTO_ICMP ||
            !table.lookup(cursor, MappingDescriptor.externalAddresses(dst), MappingDescriptor.externalPorts(protocol, dstPort)) ||
            cursor.dir() != ConntrackTable.REPLY || !StatusDescriptor.isMapping(cursor.status()) ||
            !StatusDescriptor.isConfirmed(cursor.status()))
        {
            return Verdict.done(Verdict.drop(DropReason.NO_MAPPING));
        }
        final int mapping = cursor.entry();
        final int mappingStatus = cursor.status();
        final long endpointAddresses = table.tupleAddresses(mapping, ORIGINAL);
        final long endpointPorts = table.tuplePorts(mapping, ORIGINAL);
        if (!table.stillValid(cursor))
        {
            return Verdict.done(Verdict.drop(DropReason.NO_MAPPING));
        }
        final boolean hairpin = snat.isInside(src) && !snat.isPoolAddress(src);
        if (!hairpin && filtering == EndpointDependence.ADDRESS_AND_PORT_DEPENDENT)
        {
            return filtered(buffer, offset, fields, protocol);
        }
        int initialState = 0;
        if (protocol == Ipv4Header.PROTO_TCP)
        {
            initialState = TcpState.next(ORIGINAL, tcpFlags, TcpState.NONE);
            // from outside only a SYN opens one: no connection of the inside endpoint's can be picked up mid-stream
            if (initialState >= TcpState.INVALID || !hairpin && (tcpFlags & (TcpHeader.SYN | TcpHeader.ACK | TcpHeader.RST)) != TcpHeader.SYN)
            {
                return Verdict.done(Verdict.drop(DropReason.TCP_INVALID_NEW));
            }
        }
        final int deadlineMs = nowMs + tracking.initialTimeoutMs(protocol, initialState);
        final int insideAddress = FlowTuple.srcAddress(endpointAddresses);
        final int entry = hairpin ?
            allocator.connect(cursor, addresses, ports, snat.addressFor(src, insideAddress), insideAddress, FlowTuple.srcPort(endpointPorts),
                snat.portLow(), snat.portHigh(), SRC_NAT | DST_NAT | initialState << TCP_STATE_SHIFT, 0, deadlineMs, true, sequence(protocol),
                timestamp(protocol)) :
            allocator.accept(cursor, addresses, ports, mapping, mappingStatus, DST_NAT | initialState << TCP_STATE_SHIFT, deadlineMs,
                sequence(protocol));
        if (entry < 0)
        {
            return allocator.dropReason() == DropReason.FILTERED ?
                filtered(buffer, offset, fields, protocol) : Verdict.done(Verdict.drop(allocator.dropReason()));
        }
        if (allocator.created())
        {
            counters.increment(hairpin ? ConntrackCounter.HAIRPINNED : ConntrackCounter.ACCEPTED_INBOUND);
            tracking.events().onEvent(ConntrackEvents.NEW, table, entry, cursor.status());
        }
        return entry;
    }

    /**
     * A packet from outside that the filtering refuses: dropped, or answered as a closed port of a filtering
     * router would be (a TCP RST, never to an RST; ICMP destination unreachable, administratively prohibited),
     * counted as {@code filtered} either way. Answering a TCP SYN breaks RFC 5382 REQ-4 (no answer for 6 s, so
     * that simultaneous open works): hence dropping by default.
     */
    private int filtered(final MutableDirectBuffer buffer, final int offset, final int fields, final int protocol)
    {
        if (!rejectFiltered || protocol == Ipv4Header.PROTO_TCP && (tcp.flags() & TcpHeader.RST) != 0)
        {
            return Verdict.done(Verdict.drop(DropReason.FILTERED));
        }
        counters.drop(DropReason.FILTERED);
        return reject(buffer, offset, fields, protocol, IcmpHeader.CODE_ADMIN_PROHIBITED);
    }

    /** Answers the packet in its buffer: a TCP RST, or an ICMP destination unreachable with {@code icmpCode}. */
    private int reject(final MutableDirectBuffer buffer, final int offset, final int fields, final int protocol, final int icmpCode)
    {
        final int ihl = Batch.ihl(fields);
        final int totalLength = Batch.totalLength(fields);
        batch.answer(protocol == Ipv4Header.PROTO_TCP ?
            Answers.tcpReset(buffer, offset, ihl, totalLength, ip, tcp) :
            Answers.icmpUnreachable(buffer, offset, ihl, totalLength, icmpCode, ip, icmp));
        return Verdict.done(Verdict.FORWARD);
    }

    /**
     * DNAT: schedule a backend (or keep the client's affine one) and create the connection, with source
     * NAT too when the client is inside or is the chosen backend itself (hairpin: else the backend would
     * answer itself directly). Returns the entry, a {@link Verdict#done} drop, or {@link #NO_BACKEND_TO_REJECT}.
     */
    private int connectToService(
        final Service service, final long addresses, final long ports, final int src, final int protocol, final int tcpState,
        final int nowMs)
    {
        final Backend[] backends = service.backends();
        int index = -1;
        if (service.affinitySeconds() > 0)
        {
            final int id = affinity.lookup(service.id(), src, nowMs);
            for (int i = 0; id >= 0 && i < backends.length; i++)
            {
                if (backends[i].id() == id && backends[i].weight() > 0)
                {
                    index = i;
                }
            }
        }
        if (index < 0)
        {
            random ^= random << 13;
            random ^= random >>> 17;
            random ^= random << 5;
            index = service.schedule(src, random & 0x7FFF_FFFF, backendCounters);
            if (index < 0)
            {
                return NO_BACKEND_TO_REJECT;
            }
        }
        final Backend backend = backends[index];
        if (service.affinitySeconds() > 0)
        {
            affinity.remember(service.id(), src, backend.id(), nowMs + service.affinitySeconds() * 1000);
        }
        final boolean masquerade = (snat.isInside(src) && !snat.isPoolAddress(src)) || src == backend.address();
        final int natAddress = masquerade ? snat.addressFor(src, backend.address()) : 0;
        final int entry = allocator.connect(
            cursor, addresses, ports, natAddress, backend.address(), backend.port(), snat.portLow(), snat.portHigh(),
            DST_NAT | (masquerade ? SRC_NAT : 0) | tcpState << TCP_STATE_SHIFT,
            backend.id() + 1, nowMs + tracking.initialTimeoutMs(protocol, tcpState), false, sequence(protocol), timestamp(protocol));
        if (entry < 0)
        {
            return Verdict.done(Verdict.drop(allocator.dropReason()));
        }
        if (allocator.created())
        {
            backendCounters.add(backend.id(), BackendCounters.NEW, 1);
            backendCounters.add(backend.id(), BackendCounters.LIVE, 1);
        }
        return entry;
    }

    /**
     * The flow's backend was removed: end the connection, and answer the client so it is never left
     * waiting on a black hole (as IPVS's expire_nodest_conn): a TCP RST, or ICMP host unreachable.
     * Packets from the removed backend itself are dropped.
     */
    int endRemovedBackendFlow(
        final MutableDirectBuffer buffer, final int offset, final int entry, final int dir, final int protocol,
        final int ihl, final int totalLength)
    {
        table.kill(cursor, entry, cursor.status());
        if (dir != ORIGINAL)
        {
            return Verdict.drop(DropReason.NO_BACKEND);
        }
        if (protocol == Ipv4Header.PROTO_TCP && resetRemovedBackendFlows)
        {
            if ((tcp.flags() & TcpHeader.RST) != 0)
            {
                return Verdict.drop(DropReason.NO_BACKEND);
            }
            batch.answer(Answers.tcpReset(buffer, offset, ihl, totalLength, ip, tcp));
        }
        else
        {
            batch.answer(Answers.icmpUnreachable(buffer, offset, ihl, totalLength, IcmpHeader.CODE_HOST_UNREACHABLE, ip, icmp));
        }
        counters.increment(ConntrackCounter.BACKEND_GONE);
        return Verdict.FORWARD;
    }

    /**
     * A packet natgw does not track (a protocol, an ICMP type, an embedded packet it cannot match): dropped
     * for {@code reason} if it would need translation, never out untranslated; else forwarded as it is.
     */
    int untrackable(final int src, final int dst, final DropReason reason)
    {
        return snat.isPoolAddress(dst) || (snat.isInside(src) && !snat.isPoolAddress(src)) ? Verdict.drop(reason) : untracked();
    }

    private int untracked()
    {
        counters.increment(ConntrackCounter.UNTRACKED);
        return Verdict.FORWARD;
    }
}
