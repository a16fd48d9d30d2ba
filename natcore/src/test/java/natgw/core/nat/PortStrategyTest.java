package natgw.core.nat;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PortStrategyTest
{
    @Test
    void shouldOnlyReserveAtomically()
    {
        assertTrue(PortStrategy.RESERVE.isAtomic());
        assertFalse(PortStrategy.KERNEL.isAtomic());
        assertFalse(PortStrategy.RANDOM.isAtomic());
        assertFalse(PortStrategy.RANDOM_FULLY.isAtomic());
    }

    @Test
    void shouldPreservePortsUnlessRandomised()
    {
        assertTrue(PortStrategy.RESERVE.preservesPort());
        assertTrue(PortStrategy.KERNEL.preservesPort());
        assertFalse(PortStrategy.RANDOM.preservesPort());
        assertFalse(PortStrategy.RANDOM_FULLY.preservesPort());
    }

    @Test
    void shouldParseLabels()
    {
        for (final PortStrategy strategy : PortStrategy.values())
        {
            assertEquals(strategy, PortStrategy.fromLabel(strategy.label()));
        }
        assertEquals(PortStrategy.RANDOM_FULLY, PortStrategy.fromLabel("random-fully"));
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> PortStrategy.fromLabel("fully-random"));
        assertTrue(ex.getMessage().contains("'fully-random'"), ex.getMessage());
    }
}
