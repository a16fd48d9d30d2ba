package natgw.core.nat;

import org.junit.jupiter.api.Test;

import static natgw.core.flow.FlowTuple.parseAddress;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BackendTest
{
    @Test
    void shouldKeepIdAndEndpointWhenWeightChanges()
    {
        final Backend b = new Backend(7, parseAddress("10.0.1.2"), 8080, 3);
        final Backend drained = b.withWeight(0);
        assertEquals(7, drained.id());
        assertEquals(parseAddress("10.0.1.2"), drained.address());
        assertEquals(8080, drained.port());
        assertEquals(0, drained.weight());
        assertEquals(3, b.weight(), "immutable: snapshots share backends");
        assertEquals("10.0.1.2:8080", b.endpoint());
        assertEquals("10.0.1.2:8080@0", drained.toString());
    }

    @Test
    void shouldRefuseWeightsOutsideIpvsRange()
    {
        assertThrows(IllegalArgumentException.class, () -> new Backend(0, 1, 1, -1));
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> new Backend(0, 1, 1, 65536));
        assertTrue(ex.getMessage().contains("65536"), ex.getMessage());
        assertEquals(65535, new Backend(0, 1, 1, 65535).weight());
    }
}
