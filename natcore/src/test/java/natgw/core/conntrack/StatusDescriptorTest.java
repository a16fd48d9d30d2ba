package natgw.core.conntrack;

import org.junit.jupiter.api.Test;

import static natgw.core.conntrack.StatusDescriptor.ASSURED;
import static natgw.core.conntrack.StatusDescriptor.DST_NAT;
import static natgw.core.conntrack.StatusDescriptor.GENERATION_MASK;
import static natgw.core.conntrack.StatusDescriptor.GENERATION_UNIT;
import static natgw.core.conntrack.StatusDescriptor.PHASE_CONFIRMED;
import static natgw.core.conntrack.StatusDescriptor.PHASE_DYING;
import static natgw.core.conntrack.StatusDescriptor.PHASE_MASK;
import static natgw.core.conntrack.StatusDescriptor.SEEN_REPLY;
import static natgw.core.conntrack.StatusDescriptor.SRC_NAT;
import static natgw.core.conntrack.StatusDescriptor.TCP_STATE_MASK;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StatusDescriptorTest
{
    @Test
    void shouldKeepEveryFieldInBitsOfItsOwn()
    {
        final int[] fields = { PHASE_MASK, SEEN_REPLY, ASSURED, SRC_NAT, DST_NAT, TCP_STATE_MASK, GENERATION_MASK };
        int all = 0;
        for (final int field : fields)
        {
            assertEquals(0, all & field, Integer.toHexString(field));
            all |= field;
        }
        assertTrue(TcpState.SYN_SENT2 << StatusDescriptor.TCP_STATE_SHIFT <= TCP_STATE_MASK, "every TCP state fits");
    }

    @Test
    void shouldChangeTheTcpStateAndNothingElse()
    {
        final int status = 5 * GENERATION_UNIT | StatusDescriptor.withTcpState(SEEN_REPLY | SRC_NAT | PHASE_CONFIRMED, TcpState.SYN_SENT);
        final int established = StatusDescriptor.withTcpState(status, TcpState.ESTABLISHED);
        assertEquals(TcpState.ESTABLISHED, StatusDescriptor.tcpState(established));
        assertEquals(status & ~TCP_STATE_MASK, established & ~TCP_STATE_MASK);
        assertEquals(5, StatusDescriptor.generation(established));
        assertEquals(PHASE_CONFIRMED, StatusDescriptor.phase(established));
        assertTrue(StatusDescriptor.isConfirmed(established));
        assertFalse(StatusDescriptor.isConfirmed(established & ~PHASE_MASK | PHASE_DYING));
    }
}
