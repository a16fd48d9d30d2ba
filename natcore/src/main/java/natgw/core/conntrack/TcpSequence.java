package natgw.core.conntrack;

import natgw.core.packet.TcpHeader;

/**
 * TCP sequence numbers: 32-bit, compared modulo 2^32 (RFC 793 section 3.3; Linux's {@code before}/{@code after}),
 * so a connection whose numbers wrap past 2^32 - 1 still compares right. Two numbers more than 2^31 apart compare
 * the other way round, as in Linux.
 */
public final class TcpSequence
{
    private TcpSequence()
    {
    }

    /** True if {@code seq} comes after {@code than} (Linux: {@code after(seq, than)}); false if equal. */
    public static boolean after(final int seq, final int than)
    {
        return than - seq < 0;
    }

    /**
     * The sequence number just past a segment: its sequence, plus its payload, plus one each for SYN and FIN, which
     * take a number of their own (Linux's {@code end} in {@code tcp_in_window}).
     */
    public static int end(final int seq, final int payloadLength, final int tcpFlags)
    {
        return seq + payloadLength + ((tcpFlags & TcpHeader.SYN) != 0 ? 1 : 0) + ((tcpFlags & TcpHeader.FIN) != 0 ? 1 : 0);
    }
}
