package natgw.core.packet;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DropReasonTest
{
    @Test
    void shouldKeepStableIdsInDeclarationOrder()
    {
        int previous = -1;
        for (final DropReason reason : DropReason.values())
        {
            assertTrue(reason.id() > previous, reason.label() + ": ids rise in declaration order");
            previous = reason.id();
            assertEquals(reason, DropReason.get(reason.id()));
            assertEquals(reason.name().toLowerCase(), reason.label());
        }
        assertEquals(0, DropReason.TRUNCATED.id());
        assertEquals(18, DropReason.TCP_INVALID_NEW.id());
    }
}
