package natgw.core.pipeline;

import java.util.function.ObjLongConsumer;

import org.junit.jupiter.api.Test;

import natgw.core.conntrack.ConntrackEvents;
import natgw.core.conntrack.ConntrackTable;
import natgw.core.nat.PortStrategy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WarmupTest
{
    private static final ObjLongConsumer<ConntrackTable> FLUSH = (table, nowNs) -> table.flush(new ConntrackTable.Cursor());

    /**
     * SYN, SYN-ACK, two data, FIN, FIN, ACK; another client's SYN from the same port, SYN-ACK, RST, SYN again; UDP, its
     * port unreachable; echo request and reply; a DNAT SYN.
     */
    private static final int FORWARDED_PER_ROUND = 16;

    @Test
    void shouldForwardEveryPacketOfItsTraffic()
    {
        assertEquals(300 * FORWARDED_PER_ROUND, Warmup.run(PortStrategy.RESERVE, 300));
    }

    @Test
    void shouldForwardEveryPacketOfEveryThreadSharingOneTable()
    {
        // the threads' clients are disjoint, but they race for the pool's ports and the table's free list
        assertEquals(4 * 600 * FORWARDED_PER_ROUND,
            Warmup.run(PortStrategy.RESERVE, 600, true, ConntrackEvents.NONE, 4, FLUSH));
    }

    @Test
    void shouldFailWhenTheExpiryLeavesConnections()
    {
        final IllegalStateException failed = assertThrows(IllegalStateException.class,
            () -> Warmup.run(PortStrategy.RESERVE, 600, false, ConntrackEvents.NONE, 2, (table, nowNs) -> { }));
        assertTrue(failed.getMessage().contains("left"), failed.getMessage());
    }

    @Test
    void shouldRefuseMoreThreadsThanItHasClientsFor()
    {
        assertThrows(IllegalArgumentException.class,
            () -> Warmup.run(PortStrategy.RESERVE, 1, false, ConntrackEvents.NONE, Warmup.MAX_THREADS + 1, FLUSH));
    }

    @Test
    void shouldForwardEveryPacketOfItsTrafficWithVirtioNetHeaders()
    {
        // a packet the header contradicted would be dropped (bad_vnet_header), and its warm-up would teach the
        // compiler a path real traffic never takes
        assertEquals(300 * FORWARDED_PER_ROUND, Warmup.run(PortStrategy.RESERVE, 300, true));
    }
}
