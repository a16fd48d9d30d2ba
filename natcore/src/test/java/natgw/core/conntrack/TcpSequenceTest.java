package natgw.core.conntrack;

import org.junit.jupiter.api.Test;

import static natgw.core.packet.TcpHeader.ACK;
import static natgw.core.packet.TcpHeader.FIN;
import static natgw.core.packet.TcpHeader.PSH;
import static natgw.core.packet.TcpHeader.RST;
import static natgw.core.packet.TcpHeader.SYN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TcpSequenceTest
{
    @Test
    void shouldOrderNumbersThatDoNotWrap()
    {
        assertTrue(TcpSequence.after(1001, 1000));
        assertFalse(TcpSequence.after(1000, 1001));
        assertFalse(TcpSequence.after(1000, 1000), "a number is not after itself");
    }

    @Test
    void shouldOrderNumbersAcrossTheWrap()
    {
        assertTrue(TcpSequence.after(0x10, 0xFFFF_FFF0), "0x10 follows 0xfffffff0 once the space wraps");
        assertFalse(TcpSequence.after(0xFFFF_FFF0, 0x10));
        assertTrue(TcpSequence.after(0, -1));
        assertTrue(TcpSequence.after(Integer.MIN_VALUE, Integer.MAX_VALUE), "no signed overflow at 2^31");
    }

    @Test
    void shouldCallANumberUpToHalfTheSpaceAheadAfterAndOneFurtherBefore()
    {
        // as Linux's after(): (s32)(than - seq) < 0
        assertTrue(TcpSequence.after(1000 + 0x7FFF_FFFF, 1000));
        assertTrue(TcpSequence.after(1000 + 0x8000_0000, 1000));
        assertFalse(TcpSequence.after(1000 + 0x8000_0001, 1000), "more than half the space ahead is behind");
        assertTrue(TcpSequence.after(1000, 1000 + 0x8000_0001));
    }

    @Test
    void shouldCountSynAndFinAsOneNumberEachAndPayloadAsItsLength()
    {
        assertEquals(101, TcpSequence.end(100, 0, SYN));
        assertEquals(100, TcpSequence.end(100, 0, ACK), "a bare ACK takes no number");
        assertEquals(1560, TcpSequence.end(100, 1460, ACK | PSH));
        assertEquals(1561, TcpSequence.end(100, 1460, FIN | ACK));
        assertEquals(102, TcpSequence.end(100, 0, SYN | FIN));
        assertEquals(100, TcpSequence.end(100, 0, RST | ACK));
    }

    @Test
    void shouldWrapTheEndOfASegmentThatCrossesTheTop()
    {
        assertEquals(0x0E, TcpSequence.end(0xFFFF_FFF0, 0x1E, ACK));
        assertEquals(0, TcpSequence.end(-1, 0, FIN));
        assertTrue(TcpSequence.after(TcpSequence.end(0xFFFF_FFF0, 0x1E, ACK), 0xFFFF_FFF0));
    }
}
