package natgw.core.conntrack;

import natgw.core.packet.TcpHeader;

/**
 * TCP connection states and the transition table of Linux's {@code nf_conntrack_proto_tcp.c}
 * ({@code tcp_conntracks[dir][flag set][state]}), without window tracking.
 */
public final class TcpState
{
    public static final int NONE = 0;
    public static final int SYN_SENT = 1;
    public static final int SYN_RECV = 2;
    public static final int ESTABLISHED = 3;
    public static final int FIN_WAIT = 4;
    public static final int CLOSE_WAIT = 5;
    public static final int LAST_ACK = 6;
    public static final int TIME_WAIT = 7;
    public static final int CLOSE = 8;
    public static final int SYN_SENT2 = 9;
    /** Not a state: the packet is invalid in the current state (state unchanged, counted). */
    public static final int INVALID = 10;
    /** Not a state: the packet is ignored by tracking (state unchanged). */
    public static final int IGNORE = 11;

    private static final String[] NAMES = {
        "NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE",
        "SYN_SENT2", "INVALID", "IGNORE"
    };

    static final int SYN_SET = 0;
    static final int SYNACK_SET = 1;
    static final int FIN_SET = 2;
    static final int ACK_SET = 3;
    static final int RST_SET = 4;
    static final int NONE_SET = 5;

    private static final int NO = NONE;
    private static final int SS = SYN_SENT;
    private static final int SR = SYN_RECV;
    private static final int ES = ESTABLISHED;
    private static final int FW = FIN_WAIT;
    private static final int CW = CLOSE_WAIT;
    private static final int LA = LAST_ACK;
    private static final int TW = TIME_WAIT;
    private static final int CL = CLOSE;
    private static final int S2 = SYN_SENT2;
    private static final int IV = INVALID;
    private static final int IG = IGNORE;

    // [dir][flag set][old state], columns: NO, SS, SR, ES, FW, CW, LA, TW, CL, S2
    private static final int[][][] TRANSITIONS = {
        { // ORIGINAL
            { SS, SS, IG, IG, IG, IG, IG, SS, SS, S2 }, // syn
            { IV, IV, SR, IV, IV, IV, IV, IV, IV, SR }, // synack
            { IV, IV, FW, FW, LA, LA, LA, TW, CL, IV }, // fin
            { ES, IV, ES, ES, CW, CW, TW, TW, CL, IV }, // ack
            { IV, CL, CL, CL, CL, CL, CL, CL, CL, CL }, // rst
            { IV, IV, IV, IV, IV, IV, IV, IV, IV, IV }, // none
        },
        { // REPLY
            { IV, S2, IV, IV, IV, IV, IV, SS, IV, S2 }, // syn
            { IV, SR, IG, IG, IG, IG, IG, IG, IG, SR }, // synack
            { IV, IV, FW, FW, LA, LA, LA, TW, CL, IV }, // fin
            { IV, IG, SR, ES, CW, CW, TW, TW, CL, IG }, // ack
            { IV, CL, CL, CL, CL, CL, CL, CL, CL, CL }, // rst
            { IV, IV, IV, IV, IV, IV, IV, IV, IV, IV }, // none
        }
    };

    private TcpState()
    {
    }

    /** Flag set of a segment, in the kernel's priority order: RST, SYN(+ACK), FIN, ACK, none. */
    public static int flagSet(final int tcpFlags)
    {
        if ((tcpFlags & TcpHeader.RST) != 0)
        {
            return RST_SET;
        }
        if ((tcpFlags & TcpHeader.SYN) != 0)
        {
            return (tcpFlags & TcpHeader.ACK) != 0 ? SYNACK_SET : SYN_SET;
        }
        if ((tcpFlags & TcpHeader.FIN) != 0)
        {
            return FIN_SET;
        }
        return (tcpFlags & TcpHeader.ACK) != 0 ? ACK_SET : NONE_SET;
    }

    /** The flags {@link #flagSet} looks at: FIN, SYN, RST, ACK. */
    private static final int FLAGS_SEEN = TcpHeader.FIN | TcpHeader.SYN | TcpHeader.RST | TcpHeader.ACK;
    /**
     * {@link #TRANSITIONS} by [dir][flags & FLAGS_SEEN][state], flattened: a packet's next state in one load
     * instead of a flag-set branch chain and three dependent array loads.
     */
    private static final byte[] NEXT = new byte[2 << 9];

    static
    {
        for (int dir = 0; dir < 2; dir++)
        {
            for (int flags = 0; flags <= FLAGS_SEEN; flags++)
            {
                for (int state = 0; state <= SYN_SENT2; state++)
                {
                    NEXT[nextIndex(dir, flags, state)] = (byte)TRANSITIONS[dir][flagSet(flags)][state];
                }
            }
        }
    }

    private static int nextIndex(final int dir, final int tcpFlags, final int state)
    {
        return dir << 9 | (tcpFlags & FLAGS_SEEN) << 4 | state;
    }

    /** Next state for a segment with {@code tcpFlags} travelling in {@code dir} in state {@code state}. */
    public static int next(final int dir, final int tcpFlags, final int state)
    {
        return NEXT[nextIndex(dir, tcpFlags, state)];
    }

    /** True if a SYN in the original direction reopens a connection in this state (RFC 1122 4.2.2.13). */
    public static boolean isReopenable(final int state)
    {
        return state == TIME_WAIT || state == CLOSE;
    }

    public static String name(final int state)
    {
        return state >= 0 && state < NAMES.length ? NAMES[state] : "UNKNOWN(" + state + ")";
    }
}
