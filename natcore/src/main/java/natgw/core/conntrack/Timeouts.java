package natgw.core.conntrack;

import java.util.Arrays;

/**
 * Connection timeouts in milliseconds; defaults are Linux's ({@code nf_conntrack_tcp_timeout_*},
 * {@code nf_conntrack_udp_timeout[_stream]}, {@code nf_conntrack_icmp_timeout}).
 */
public final class Timeouts
{
    /** RFC 5382 REQ-5: the transitory connection idle-timeout MUST NOT be less than 4 minutes. */
    static final int RFC_TRANSITORY_MS = 240_000;

    private final int[] tcpMs = new int[TcpState.SYN_SENT2 + 1];
    private int udpUnrepliedMs = 30_000;
    private int udpRepliedMs = 120_000;
    private int icmpMs = 30_000;

    public Timeouts()
    {
        tcpMs[TcpState.NONE] = 10_000;
        tcpMs[TcpState.SYN_SENT] = 120_000;
        tcpMs[TcpState.SYN_RECV] = 60_000;
        tcpMs[TcpState.ESTABLISHED] = 432_000_000;
        tcpMs[TcpState.FIN_WAIT] = 120_000;
        tcpMs[TcpState.CLOSE_WAIT] = 60_000;
        tcpMs[TcpState.LAST_ACK] = 30_000;
        tcpMs[TcpState.TIME_WAIT] = 120_000;
        tcpMs[TcpState.CLOSE] = 10_000;
        tcpMs[TcpState.SYN_SENT2] = 120_000;
    }

    /**
     * The preset named: {@code linux} (Linux's defaults, as {@link #Timeouts()}) or {@code rfc}, the shortest timers the
     * NAT behaviour RFCs allow, where Linux's are shorter: a UDP mapping lives at least 2 minutes (RFC 4787 REQ-5),
     * 5 once replied (its RECOMMENDED value); a TCP connection being opened or closed at least 4 minutes (RFC 5382
     * REQ-5, transitory idle-timeout); an ICMP query at least 60 seconds (RFC 5508 REQ-2). Established TCP keeps
     * Linux's 5 days (RFC 5382 asks for at least 2 hours 4 minutes).
     */
    public static Timeouts preset(final String name)
    {
        switch (name)
        {
            case "linux":
                return new Timeouts();
            case "rfc":
                final Timeouts rfc = new Timeouts().udpUnrepliedMs(120_000).udpRepliedMs(300_000).icmpMs(60_000);
                for (final int state : new int[]{ TcpState.SYN_SENT, TcpState.SYN_RECV, TcpState.FIN_WAIT,
                    TcpState.CLOSE_WAIT, TcpState.LAST_ACK, TcpState.TIME_WAIT, TcpState.SYN_SENT2 })
                {
                    rfc.tcpMs(state, Math.max(rfc.tcpMs(state), RFC_TRANSITORY_MS));
                }
                return rfc;
            default:
                throw new IllegalArgumentException("unknown timeout preset '" + name + "'; use linux or rfc");
        }
    }

    public int tcpMs(final int state)
    {
        return tcpMs[state];
    }

    public Timeouts tcpMs(final int state, final int timeoutMs)
    {
        tcpMs[state] = checked(timeoutMs, "tcp " + TcpState.name(state));
        return this;
    }

    public int udpUnrepliedMs()
    {
        return udpUnrepliedMs;
    }

    public Timeouts udpUnrepliedMs(final int timeoutMs)
    {
        udpUnrepliedMs = checked(timeoutMs, "udp unreplied");
        return this;
    }

    public int udpRepliedMs()
    {
        return udpRepliedMs;
    }

    public Timeouts udpRepliedMs(final int timeoutMs)
    {
        udpRepliedMs = checked(timeoutMs, "udp replied");
        return this;
    }

    public int icmpMs()
    {
        return icmpMs;
    }

    public Timeouts icmpMs(final int timeoutMs)
    {
        icmpMs = checked(timeoutMs, "icmp");
        return this;
    }

    /**
     * Applies {@code name=seconds} settings, names as Linux's sysctls without the prefix:
     * tcp_syn_sent, tcp_syn_recv, tcp_established, tcp_fin_wait, tcp_close_wait, tcp_last_ack,
     * tcp_time_wait, tcp_close, udp, udp_stream, icmp.
     */
    public Timeouts apply(final String name, final int seconds)
    {
        final int ms = Math.multiplyExact(seconds, 1000);
        switch (name)
        {
            case "tcp_syn_sent": return tcpMs(TcpState.SYN_SENT, ms).tcpMs(TcpState.SYN_SENT2, ms);
            case "tcp_syn_recv": return tcpMs(TcpState.SYN_RECV, ms);
            case "tcp_established": return tcpMs(TcpState.ESTABLISHED, ms);
            case "tcp_fin_wait": return tcpMs(TcpState.FIN_WAIT, ms);
            case "tcp_close_wait": return tcpMs(TcpState.CLOSE_WAIT, ms);
            case "tcp_last_ack": return tcpMs(TcpState.LAST_ACK, ms);
            case "tcp_time_wait": return tcpMs(TcpState.TIME_WAIT, ms);
            case "tcp_close": return tcpMs(TcpState.CLOSE, ms);
            case "udp": return udpUnrepliedMs(ms);
            case "udp_stream": return udpRepliedMs(ms);
            case "icmp": return icmpMs(ms);
            default:
                throw new IllegalArgumentException("unknown timeout '" + name + "'; known: tcp_syn_sent, tcp_syn_recv, " +
                    "tcp_established, tcp_fin_wait, tcp_close_wait, tcp_last_ack, tcp_time_wait, tcp_close, udp, udp_stream, icmp");
        }
    }

    private static int checked(final int ms, final String what)
    {
        // deadlines are ints of ms that wrap: keep timeouts well under a quarter of the range
        if (ms < 1 || ms > 500_000_000)
        {
            throw new IllegalArgumentException(what + " timeout must be 1 ms..5.7 days, got " + ms + " ms");
        }
        return ms;
    }

    @Override
    public String toString()
    {
        return "Timeouts{tcpMs=" + Arrays.toString(tcpMs) + ", udp=" + udpUnrepliedMs + ", udpStream=" + udpRepliedMs +
            ", icmp=" + icmpMs + '}';
    }
}
