package natgw.core.conntrack;

import org.junit.jupiter.api.Test;

import static natgw.core.conntrack.ConntrackTable.ORIGINAL;
import static natgw.core.conntrack.ConntrackTable.REPLY;
import static natgw.core.conntrack.TcpState.CLOSE;
import static natgw.core.conntrack.TcpState.CLOSE_WAIT;
import static natgw.core.conntrack.TcpState.ESTABLISHED;
import static natgw.core.conntrack.TcpState.FIN_WAIT;
import static natgw.core.conntrack.TcpState.IGNORE;
import static natgw.core.conntrack.TcpState.INVALID;
import static natgw.core.conntrack.TcpState.LAST_ACK;
import static natgw.core.conntrack.TcpState.NONE;
import static natgw.core.conntrack.TcpState.SYN_RECV;
import static natgw.core.conntrack.TcpState.SYN_SENT;
import static natgw.core.conntrack.TcpState.SYN_SENT2;
import static natgw.core.conntrack.TcpState.TIME_WAIT;
import static natgw.core.packet.TcpHeader.ACK;
import static natgw.core.packet.TcpHeader.FIN;
import static natgw.core.packet.TcpHeader.PSH;
import static natgw.core.packet.TcpHeader.RST;
import static natgw.core.packet.TcpHeader.SYN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TcpStateTest
{
    @Test
    void shouldClassifyFlagsInKernelPriorityOrder()
    {
        assertEquals(TcpState.RST_SET, TcpState.flagSet(RST | SYN | FIN | ACK));
        assertEquals(TcpState.SYNACK_SET, TcpState.flagSet(SYN | ACK | FIN));
        assertEquals(TcpState.SYN_SET, TcpState.flagSet(SYN));
        assertEquals(TcpState.FIN_SET, TcpState.flagSet(FIN | ACK | PSH));
        assertEquals(TcpState.ACK_SET, TcpState.flagSet(ACK | PSH));
        assertEquals(TcpState.NONE_SET, TcpState.flagSet(PSH));
        assertEquals(TcpState.NONE_SET, TcpState.flagSet(0));
    }

    @Test
    void shouldFollowThreeWayHandshake()
    {
        int state = TcpState.next(ORIGINAL, SYN, NONE);
        assertEquals(SYN_SENT, state);
        state = TcpState.next(REPLY, SYN | ACK, state);
        assertEquals(SYN_RECV, state);
        state = TcpState.next(ORIGINAL, ACK, state);
        assertEquals(ESTABLISHED, state);
        assertEquals(ESTABLISHED, TcpState.next(ORIGINAL, ACK | PSH, state));
        assertEquals(ESTABLISHED, TcpState.next(REPLY, ACK | PSH, state));
    }

    @Test
    void shouldFollowCloseInitiatedByClientToTimeWait()
    {
        int state = TcpState.next(ORIGINAL, FIN | ACK, ESTABLISHED);
        assertEquals(FIN_WAIT, state);
        state = TcpState.next(REPLY, ACK, state);
        assertEquals(CLOSE_WAIT, state);
        state = TcpState.next(REPLY, FIN | ACK, state);
        assertEquals(LAST_ACK, state);
        state = TcpState.next(ORIGINAL, ACK, state);
        assertEquals(TIME_WAIT, state);
    }

    @Test
    void shouldFollowSimultaneousFinsToTimeWait()
    {
        int state = TcpState.next(ORIGINAL, FIN | ACK, ESTABLISHED);
        state = TcpState.next(REPLY, FIN | ACK, state);
        assertEquals(LAST_ACK, state);
        assertEquals(TIME_WAIT, TcpState.next(ORIGINAL, ACK, state));
    }

    @Test
    void shouldCloseOnResetInAnyTrackedState()
    {
        for (int state = SYN_SENT; state <= SYN_SENT2; state++)
        {
            assertEquals(CLOSE, TcpState.next(ORIGINAL, RST, state), TcpState.name(state));
            assertEquals(CLOSE, TcpState.next(REPLY, RST | ACK, state), TcpState.name(state));
        }
    }

    @Test
    void shouldRefuseToStartConnectionWithResetFinOrNoFlags()
    {
        assertEquals(INVALID, TcpState.next(ORIGINAL, RST, NONE));
        assertEquals(INVALID, TcpState.next(ORIGINAL, RST | ACK, NONE));
        assertEquals(INVALID, TcpState.next(ORIGINAL, FIN, NONE));
        assertEquals(INVALID, TcpState.next(ORIGINAL, FIN | ACK, NONE));
        assertEquals(INVALID, TcpState.next(ORIGINAL, SYN | ACK, NONE));
        assertEquals(INVALID, TcpState.next(ORIGINAL, 0, NONE));
        assertEquals(ESTABLISHED, TcpState.next(ORIGINAL, ACK, NONE), "picked up mid-stream, as the kernel's loose mode");
    }

    @Test
    void shouldHandleSimultaneousOpenAndIgnoredRetransmissions()
    {
        assertEquals(SYN_SENT2, TcpState.next(REPLY, SYN, SYN_SENT));
        assertEquals(SYN_RECV, TcpState.next(REPLY, SYN | ACK, SYN_SENT2));
        assertEquals(IGNORE, TcpState.next(ORIGINAL, SYN, ESTABLISHED));
        assertEquals(IGNORE, TcpState.next(REPLY, SYN | ACK, ESTABLISHED));
        assertEquals(SYN_SENT, TcpState.next(ORIGINAL, SYN, SYN_SENT), "a retransmitted SYN");
    }

    @Test
    void shouldReopenOnlyClosedConnections()
    {
        assertTrue(TcpState.isReopenable(TIME_WAIT));
        assertTrue(TcpState.isReopenable(CLOSE));
        for (final int state : new int[]{ NONE, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT, CLOSE_WAIT, LAST_ACK, SYN_SENT2 })
        {
            assertFalse(TcpState.isReopenable(state), TcpState.name(state));
        }
        assertEquals(SYN_SENT, TcpState.next(ORIGINAL, SYN, TIME_WAIT));
        assertEquals(SYN_SENT, TcpState.next(ORIGINAL, SYN, CLOSE));
    }

    @Test
    void shouldGiveAStateForEveryFlagCombinationDirectionAndState()
    {
        for (int dir = 0; dir < 2; dir++)
        {
            for (int flags = 0; flags < 256; flags++)
            {
                for (int state = NONE; state <= SYN_SENT2; state++)
                {
                    final int next = TcpState.next(dir, flags, state);
                    assertTrue(next >= NONE && next <= IGNORE, "dir " + dir + " flags " + flags + " state " + state);
                }
            }
        }
    }

    @Test
    void shouldNameStates()
    {
        assertEquals("TIME_WAIT", TcpState.name(TIME_WAIT));
        assertEquals("SYN_SENT2", TcpState.name(SYN_SENT2));
        assertEquals("UNKNOWN(15)", TcpState.name(15));
    }
}
