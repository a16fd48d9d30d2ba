package natgw.gateway.control;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.MappingDescriptor;
import natgw.core.conntrack.StatusDescriptor;
import natgw.core.conntrack.TcpState;
import natgw.core.flow.FlowTuple;
import natgw.core.packet.Ipv4Header;

/**
 * Formats connections byte for byte as conntrack-tools 1.4 prints the kernel's (with accounting on and
 * timestamps off, {@code nf_conntrack_acct=1}): {@code conntrack -L} lines, {@code -E} events, the
 * {@code -o extended} layer prefix and {@code -o timestamp} event clock.
 * <pre>
 * -L       tcp      6 431999 ESTABLISHED src=.. dst=.. sport=.. dport=.. packets=.. bytes=.. src=.. dst=.. sport=.. dport=.. packets=.. bytes=.. [ASSURED] mark=0 use=1
 * -E           [NEW] tcp      6 120 SYN_SENT src=.. dst=.. sport=.. dport=.. [UNREPLIED] src=.. dst=.. sport=.. dport=..
 *         [DESTROY] tcp      6 0 TIME_WAIT src=.. ... packets=.. bytes=.. src=.. ... packets=.. bytes=.. [ASSURED]
 * </pre>
 */
public final class ConntrackListing
{
    /** What {@code -o extended} puts first: the layer 3 protocol, as {@code "%-8s %u "}. */
    static final String EXTENDED_PREFIX = "ipv4     2 ";

    private ConntrackListing()
    {
    }

    /**
     * Filters of {@code conntrack -L/-D/-G}, as conntrack-tools names them: protocol number (0 = any), addresses
     * and ports of either direction's tuple (0, or -1 for a port, = any).
     */
    public static final class Filter
    {
        public int protocol;
        public int src;
        public int dst;
        public int replySrc;
        public int replyDst;
        public int srcPort = -1;
        public int dstPort = -1;
        public int replySrcPort = -1;
        public int replyDstPort = -1;

        public boolean matches(final long origAddresses, final long origPorts, final long replyAddresses, final long replyPorts)
        {
            return (protocol == 0 || FlowTuple.protocol(origPorts) == protocol) &&
                (src == 0 || FlowTuple.srcAddress(origAddresses) == src) &&
                (dst == 0 || FlowTuple.dstAddress(origAddresses) == dst) &&
                (replySrc == 0 || FlowTuple.srcAddress(replyAddresses) == replySrc) &&
                (replyDst == 0 || FlowTuple.dstAddress(replyAddresses) == replyDst) &&
                (srcPort < 0 || FlowTuple.srcPort(origPorts) == srcPort) &&
                (dstPort < 0 || FlowTuple.dstPort(origPorts) == dstPort) &&
                (replySrcPort < 0 || FlowTuple.srcPort(replyPorts) == replySrcPort) &&
                (replyDstPort < 0 || FlowTuple.dstPort(replyPorts) == replyDstPort);
        }

        /** True if it names one connection as {@code conntrack -G} needs: protocol, both addresses, both ports. */
        public boolean isExact()
        {
            return protocol != 0 && src != 0 && dst != 0 && srcPort >= 0 && dstPort >= 0;
        }
    }

    public static String protocolName(final int protocol)
    {
        switch (protocol)
        {
            case Ipv4Header.PROTO_TCP: return "tcp";
            case Ipv4Header.PROTO_UDP: return "udp";
            case Ipv4Header.PROTO_ICMP: return "icmp";
            default: return "unknown";
        }
    }

    public static int protocolNumber(final String name)
    {
        switch (name.toLowerCase())
        {
            case "tcp": case "6": return Ipv4Header.PROTO_TCP;
            case "udp": case "17": return Ipv4Header.PROTO_UDP;
            case "icmp": case "1": return Ipv4Header.PROTO_ICMP;
            default: throw new IllegalArgumentException("unknown protocol '" + name + "' (tcp, udp or icmp)");
        }
    }

    /**
     * One connection: the protocol, its timeout (left out when negative), TCP state, original tuple, its counters
     * (with {@code counters}), [UNREPLIED], reply tuple and counters, [ASSURED], and {@code mark=0 use=1} (with
     * {@code markUse}: listings have it, events do not).
     */
    public static void format(
        final StringBuilder sb,
        final long origAddresses, final long origPorts, final long replyAddresses, final long replyPorts,
        final int status, final long timeoutSeconds,
        final long origPackets, final long origBytes, final long replyPackets, final long replyBytes,
        final boolean counters, final boolean markUse)
    {
        final int protocol = FlowTuple.protocol(origPorts);
        final String name = protocolName(protocol);
        sb.append(name);
        pad(sb, 9 - name.length());
        sb.append(protocol).append(' ');
        if (timeoutSeconds >= 0)
        {
            sb.append(timeoutSeconds).append(' ');
        }
        if (protocol == Ipv4Header.PROTO_TCP)
        {
            sb.append(TcpState.name(StatusDescriptor.tcpState(status))).append(' ');
        }
        tuple(sb, origAddresses, origPorts);
        if (counters)
        {
            sb.append(" packets=").append(origPackets).append(" bytes=").append(origBytes);
        }
        if ((status & StatusDescriptor.SEEN_REPLY) == 0)
        {
            sb.append(" [UNREPLIED]");
        }
        sb.append(' ');
        tuple(sb, replyAddresses, replyPorts);
        if (counters)
        {
            sb.append(" packets=").append(replyPackets).append(" bytes=").append(replyBytes);
        }
        if ((status & StatusDescriptor.ASSURED) != 0)
        {
            sb.append(" [ASSURED]");
        }
        if (markUse)
        {
            sb.append(" mark=0 use=1");
        }
    }

    /** The event type column of {@code conntrack -E}, right-aligned to 9 characters. */
    public static String eventName(final int type)
    {
        switch (type)
        {
            case 0: return "    [NEW] ";
            case 1: return " [UPDATE] ";
            default: return "[DESTROY] ";
        }
    }

    /** {@code -o timestamp}'s clock: {@code [SECONDS.MICROSECONDS]} and a tab. */
    public static void timestamp(final StringBuilder sb, final long wallClockUs)
    {
        final long micros = wallClockUs % 1_000_000;
        sb.append('[').append(wallClockUs / 1_000_000).append('.');
        for (long scale = 100_000; scale > 1 && micros < scale; scale /= 10)
        {
            sb.append('0');
        }
        sb.append(micros).append("]\t");
    }

    private static void tuple(final StringBuilder sb, final long addresses, final long ports)
    {
        sb.append("src=").append(FlowTuple.addressToString(FlowTuple.srcAddress(addresses)))
            .append(" dst=").append(FlowTuple.addressToString(FlowTuple.dstAddress(addresses)));
        if (FlowTuple.protocol(ports) == Ipv4Header.PROTO_ICMP)
        {
            final boolean request = FlowTuple.srcPort(ports) != 0 || FlowTuple.dstPort(ports) == 0;
            sb.append(" type=").append(request ? 8 : 0).append(" code=0 id=")
                .append(request ? FlowTuple.srcPort(ports) : FlowTuple.dstPort(ports));
        }
        else
        {
            sb.append(" sport=").append(FlowTuple.srcPort(ports)).append(" dport=").append(FlowTuple.dstPort(ports));
        }
    }

    private static void pad(final StringBuilder sb, final int n)
    {
        for (int i = 0; i < n; i++)
        {
            sb.append(' ');
        }
    }

    /**
     * Formats every live endpoint mapping whose protocol and inside address match {@code filter} (-p, -s), one line
     * each: {@code udp 17 inside=10.77.1.2:40000 external=198.51.100.1:40000 use=3}, {@code use} its connections;
     * with address-dependent filtering, its permissions too: {@code udp 17 inside=10.77.1.2:40000 permits=203.0.113.9
     * use=2}, {@code use} the endpoint's connections to that address (a mapping's use is then its permissions).
     * Returns how many lines it wrote.
     */
    public static int mappings(final ConntrackTable table, final Filter filter, final StringBuilder out)
    {
        int count = 0;
        for (int entry = 0; entry < table.capacity(); entry++)
        {
            final int status = table.status(entry);
            if (!StatusDescriptor.isConfirmed(status) || !StatusDescriptor.isMapping(status))
            {
                continue;
            }
            final long endpointAddresses = table.tupleAddresses(entry, ConntrackTable.ORIGINAL);
            final long endpointPorts = table.tuplePorts(entry, ConntrackTable.ORIGINAL);
            final long externalAddresses = table.tupleAddresses(entry, ConntrackTable.REPLY);
            final long externalPorts = table.tuplePorts(entry, ConntrackTable.REPLY);
            final int uses = table.uses(entry);
            final int protocol = FlowTuple.protocol(endpointPorts);
            final int inside = FlowTuple.srcAddress(endpointAddresses);
            if (table.status(entry) != status || filter.protocol != 0 && filter.protocol != protocol ||
                filter.src != 0 && filter.src != inside)
            {
                continue;
            }
            final String name = protocolName(protocol);
            out.append(name);
            pad(out, 9 - name.length());
            out.append(protocol).append(" inside=").append(FlowTuple.addressToString(inside)).append(':')
                .append(FlowTuple.srcPort(endpointPorts));
            if (MappingDescriptor.isPermissionTuple(endpointPorts))
            {
                out.append(" permits=").append(FlowTuple.addressToString(FlowTuple.dstAddress(endpointAddresses)));
            }
            else
            {
                out.append(" external=").append(FlowTuple.addressToString(MappingDescriptor.poolAddress(externalAddresses))).append(':')
                    .append(MappingDescriptor.externalPort(externalPorts));
            }
            out.append(" use=").append(uses).append('\n');
            count++;
        }
        return count;
    }

    /** What {@link #visit} does with each matching connection; returns whether it counts (was shown or deleted). */
    public interface Visitor
    {
        boolean visit(int entry, int status, String line);
    }

    /**
     * Formats every confirmed connection matching {@code filter} (one consistent read each: an entry reused
     * during the read is skipped) and hands its line to {@code visitor}; returns how many it counted.
     */
    public static int visit(
        final ConntrackTable table, final int nowMs, final Filter filter, final boolean extended, final Visitor visitor)
    {
        int count = 0;
        final StringBuilder line = new StringBuilder(256);
        for (int entry = 0; entry < table.capacity(); entry++)
        {
            final int status = table.status(entry);
            if (StatusDescriptor.phase(status) != StatusDescriptor.PHASE_CONFIRMED || StatusDescriptor.isMapping(status))
            {
                continue; // a mapping is listed by mappings(), apart
            }
            final long origAddresses = table.tupleAddresses(entry, ConntrackTable.ORIGINAL);
            final long origPorts = table.tuplePorts(entry, ConntrackTable.ORIGINAL);
            final long replyAddresses = table.tupleAddresses(entry, ConntrackTable.REPLY);
            final long replyPorts = table.tuplePorts(entry, ConntrackTable.REPLY);
            final int deadlineMs = table.deadlineMs(entry);
            final long op = table.packets(entry, ConntrackTable.ORIGINAL);
            final long ob = table.bytes(entry, ConntrackTable.ORIGINAL);
            final long rp = table.packets(entry, ConntrackTable.REPLY);
            final long rb = table.bytes(entry, ConntrackTable.REPLY);
            if (table.status(entry) >>> StatusDescriptor.GENERATION_SHIFT != status >>> StatusDescriptor.GENERATION_SHIFT ||
                !filter.matches(origAddresses, origPorts, replyAddresses, replyPorts))
            {
                continue;
            }
            line.setLength(0);
            if (extended)
            {
                line.append(EXTENDED_PREFIX);
            }
            format(line, origAddresses, origPorts, replyAddresses, replyPorts, status, timeoutSeconds(deadlineMs, nowMs), op, ob, rp, rb, true, true);
            if (visitor.visit(entry, status, line.toString()))
            {
                count++;
            }
        }
        return count;
    }

    /** Seconds left until {@code deadlineMs}, rounded down, never negative (what the kernel's timeout column shows). */
    public static long timeoutSeconds(final int deadlineMs, final int nowMs)
    {
        return Math.max(0, (deadlineMs - nowMs) / 1000);
    }
}
