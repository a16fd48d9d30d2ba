package natgw.core.nat;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SchedulerTest
{
    @Test
    void shouldUseIpvsadmLabels()
    {
        assertEquals("rr wrr lc wlc sh mh random",
            String.join(" ", java.util.Arrays.stream(Scheduler.values()).map(Scheduler::label).toList()));
        for (final Scheduler s : Scheduler.values())
        {
            assertEquals(s, Scheduler.fromLabel(s.label()));
        }
    }

    @Test
    void shouldRefuseUnknownLabelNamingItAndTheKnownOnes()
    {
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> Scheduler.fromLabel("lblc"));
        assertTrue(ex.getMessage().contains("'lblc'") && ex.getMessage().contains("wlc") && ex.getMessage().contains("mh"), ex.getMessage());
    }
}
