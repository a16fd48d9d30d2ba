package natgw.core.pipeline;

import org.junit.jupiter.api.Test;

import natgw.core.nat.PortStrategy;

import static org.junit.jupiter.api.Assertions.assertEquals;

class WarmupTest
{
    /** SYN, SYN-ACK, two data, FIN; UDP, its port unreachable; echo request and reply; a DNAT SYN. */
    private static final int FORWARDED_PER_ROUND = 10;

    @Test
    void shouldForwardEveryPacketOfItsTraffic()
    {
        assertEquals(300 * FORWARDED_PER_ROUND, Warmup.run(PortStrategy.RESERVE, 300));
    }

    @Test
    void shouldForwardEveryPacketOfItsTrafficWithVirtioNetHeaders()
    {
        // a packet the header contradicted would be dropped (bad_vnet_header), and its warm-up would teach the
        // compiler a path real traffic never takes
        assertEquals(300 * FORWARDED_PER_ROUND, Warmup.run(PortStrategy.RESERVE, 300, true));
    }
}
