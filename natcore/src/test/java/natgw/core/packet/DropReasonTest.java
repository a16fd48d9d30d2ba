package natgw.core.packet;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class DropReasonTest
{
    @Test
    void shouldKeepStableIdsInDeclarationOrder()
    {
        for (final DropReason reason : DropReason.values())
        {
            assertEquals(reason.ordinal(), reason.id(), reason.label());
            assertEquals(reason, DropReason.get(reason.id()));
            assertEquals(reason.name().toLowerCase(), reason.label());
        }
        assertEquals(0, DropReason.TRUNCATED.id());
        assertEquals(18, DropReason.TCP_INVALID_NEW.id());
    }
}
