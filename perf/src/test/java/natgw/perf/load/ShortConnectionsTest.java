package natgw.perf.load;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ShortConnectionsTest
{
    @Test
    void shouldShareTheSourcePortsOutAmongThreads()
    {
        final int[] range = ShortConnections.portRange("30000-30004");
        assertArrayEquals(new int[] {30000, 30004}, range);
        assertArrayEquals(new int[] {30000, 30002, 30004}, ShortConnections.threadPorts(range, 0, 2));
        assertArrayEquals(new int[] {30001, 30003}, ShortConnections.threadPorts(range, 1, 2));
        assertArrayEquals(new int[0], ShortConnections.threadPorts(ShortConnections.portRange("0-0"), 1, 2),
            "ephemeral ports");
    }

    @Test
    void shouldRefuseBadPortRanges()
    {
        assertThrows(IllegalArgumentException.class, () -> ShortConnections.portRange("30004-30000"));
        assertThrows(IllegalArgumentException.class, () -> ShortConnections.portRange("0-30000"));
        assertThrows(IllegalArgumentException.class, () -> ShortConnections.portRange("1-70000"));
        assertThrows(IllegalArgumentException.class,
            () -> ShortConnections.threadPorts(ShortConnections.portRange("30000-30000"), 1, 2));
    }
}
