package natgw.gateway.control;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.TcpState;
import natgw.core.flow.FlowTuple;
import natgw.core.packet.Ipv4Header;

/** Formats connections as conntrack-tools prints them ({@code conntrack -L}, {@code -E}). */
public final class ConntrackListing
{
    private ConntrackListing()
    {
    }

    /** Filters of {@code conntrack -L}: protocol number (0 = any), original source and destination (0 = any). */
    public static final class Filter
    {
        public int protocol;
        public int src;
        public int dst;

        public boolean matches(final long origA, final long origB)
        {
            return (protocol == 0 || FlowTuple.protocol(origB) == protocol) &&
                (src == 0 || FlowTuple.srcAddress(origA) == src) &&
                (dst == 0 || FlowTuple.dstAddress(origA) == dst);
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
     * One line:
     * {@code tcp      6 431999 ESTABLISHED src=.. dst=.. sport=.. dport=.. packets=.. bytes=.. src=.. ... [ASSURED] use=1}.
     *
     * @param timeoutSeconds seconds left, or negative to leave it out (events).
     */
    public static void format(
        final StringBuilder sb,
        final long origA, final long origB, final long replyA, final long replyB,
        final int status, final long timeoutSeconds,
        final long origPackets, final long origBytes, final long replyPackets, final long replyBytes,
        final boolean counters)
    {
        final int protocol = FlowTuple.protocol(origB);
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
            sb.append(TcpState.name(ConntrackTable.tcpState(status))).append(' ');
        }
        tuple(sb, origA, origB, true);
        if (counters)
        {
            sb.append(" packets=").append(origPackets).append(" bytes=").append(origBytes);
        }
        if ((status & ConntrackTable.SEEN_REPLY) == 0)
        {
            sb.append(" [UNREPLIED]");
        }
        sb.append(' ');
        tuple(sb, replyA, replyB, false);
        if (counters)
        {
            sb.append(" packets=").append(replyPackets).append(" bytes=").append(replyBytes);
        }
        if ((status & ConntrackTable.ASSURED) != 0)
        {
            sb.append(" [ASSURED]");
        }
        sb.append(" mark=0 use=1");
    }

    private static void tuple(final StringBuilder sb, final long a, final long b, final boolean original)
    {
        sb.append("src=").append(FlowTuple.addressToString(FlowTuple.srcAddress(a)))
            .append(" dst=").append(FlowTuple.addressToString(FlowTuple.dstAddress(a)));
        if (FlowTuple.protocol(b) == Ipv4Header.PROTO_ICMP)
        {
            final boolean request = FlowTuple.srcPort(b) != 0 || FlowTuple.dstPort(b) == 0;
            sb.append(" type=").append(request ? 8 : 0).append(" code=0 id=")
                .append(request ? FlowTuple.srcPort(b) : FlowTuple.dstPort(b));
        }
        else
        {
            sb.append(" sport=").append(FlowTuple.srcPort(b)).append(" dport=").append(FlowTuple.dstPort(b));
        }
    }

    private static void pad(final StringBuilder sb, final int n)
    {
        for (int i = 0; i < n; i++)
        {
            sb.append(' ');
        }
    }

    /** Appends every confirmed connection matching {@code filter}, one line each; returns how many. */
    public static int list(final ConntrackTable table, final int nowMs, final Filter filter, final StringBuilder out)
    {
        int count = 0;
        final StringBuilder line = new StringBuilder(256);
        for (int entry = 0; entry < table.capacity(); entry++)
        {
            final int status = table.status(entry);
            if (ConntrackTable.phase(status) != ConntrackTable.PHASE_CONFIRMED)
            {
                continue;
            }
            final long origA = table.tupleA(entry, ConntrackTable.ORIGINAL);
            final long origB = table.tupleB(entry, ConntrackTable.ORIGINAL);
            final long replyA = table.tupleA(entry, ConntrackTable.REPLY);
            final long replyB = table.tupleB(entry, ConntrackTable.REPLY);
            final int deadlineMs = table.deadlineMs(entry);
            final long op = table.packets(entry, 0);
            final long ob = table.bytes(entry, 0);
            final long rp = table.packets(entry, 1);
            final long rb = table.bytes(entry, 1);
            if (table.status(entry) >>> ConntrackTable.GENERATION_SHIFT != status >>> ConntrackTable.GENERATION_SHIFT ||
                !filter.matches(origA, origB))
            {
                continue;
            }
            line.setLength(0);
            format(line, origA, origB, replyA, replyB, status, Math.max(0, (deadlineMs - nowMs) / 1000), op, ob, rp, rb, true);
            out.append(line).append('\n');
            count++;
        }
        return count;
    }
}
