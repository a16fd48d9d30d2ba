package natgw.core.conntrack;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConntrackCounterTest
{
    @Test
    void shouldKeepStableIdsInDeclarationOrder()
    {
        int previous = -1;
        for (final ConntrackCounter counter : ConntrackCounter.values())
        {
            assertTrue(counter.id() > previous, counter.label() + ": ids rise in declaration order");
            previous = counter.id();
            assertEquals(counter, ConntrackCounter.get(counter.id()));
            assertEquals(counter.name().toLowerCase(), counter.label());
            assertFalse(counter.description().isEmpty());
        }
        assertEquals(previous + 1, ConntrackCounter.COUNT);
        assertEquals(3, ConntrackCounter.INSERT_FAILED.id());
        assertEquals(15, ConntrackCounter.DROPPED.id());
    }
}
