package natgw.core.conntrack;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

class ConntrackCounterTest
{
    @Test
    void shouldKeepStableIdsInDeclarationOrder()
    {
        for (final ConntrackCounter counter : ConntrackCounter.values())
        {
            assertEquals(counter.ordinal(), counter.id(), counter.label());
            assertEquals(counter, ConntrackCounter.get(counter.id()));
            assertEquals(counter.name().toLowerCase(), counter.label());
            assertFalse(counter.description().isEmpty());
        }
        assertEquals(ConntrackCounter.values().length, ConntrackCounter.COUNT);
        assertEquals(3, ConntrackCounter.INSERT_FAILED.id());
        assertEquals(15, ConntrackCounter.DROPPED.id());
    }
}
