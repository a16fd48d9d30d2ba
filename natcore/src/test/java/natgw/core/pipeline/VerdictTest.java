package natgw.core.pipeline;

import org.junit.jupiter.api.Test;

import natgw.core.packet.DropReason;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VerdictTest
{
    @Test
    void shouldCarryEveryDropReasonAsItsId()
    {
        for (final DropReason reason : DropReason.values())
        {
            final int verdict = Verdict.drop(reason);
            assertTrue(Verdict.isDrop(verdict), reason.name());
            assertEquals(reason, Verdict.dropReason(verdict));
            assertNotEquals(Verdict.FORWARD, verdict);
            assertNotEquals(Verdict.PARSED, verdict);
            assertNotEquals(Verdict.PARSED_ICMP_ERROR, verdict);
        }
        assertFalse(Verdict.isDrop(Verdict.FORWARD));
        assertFalse(Verdict.isDrop(Verdict.PARSED));
        assertFalse(Verdict.isDrop(Verdict.PARSED_ICMP_ERROR));
        assertEquals(Pipeline.FORWARD, Verdict.FORWARD);
    }

    @Test
    void shouldKeepEveryFinalVerdictApartFromEveryEntry()
    {
        assertTrue(Verdict.isEntry(0));
        assertTrue(Verdict.isEntry(Integer.MAX_VALUE));
        final int forwarded = Verdict.done(Verdict.FORWARD);
        assertFalse(Verdict.isEntry(forwarded));
        assertEquals(Verdict.FORWARD, Verdict.verdictOf(forwarded));
        for (final DropReason reason : DropReason.values())
        {
            final int done = Verdict.done(Verdict.drop(reason));
            assertFalse(Verdict.isEntry(done), reason.name());
            assertEquals(Verdict.drop(reason), Verdict.verdictOf(done));
        }
    }
}
