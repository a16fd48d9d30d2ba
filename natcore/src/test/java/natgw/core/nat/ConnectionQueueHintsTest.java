package natgw.core.nat;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import natgw.core.flow.FlowTuple;
import natgw.core.flow.QueueSteering;

import static natgw.core.flow.FlowTuple.parseAddress;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConnectionQueueHintsTest
{
    private static final int SERVER = parseAddress("203.0.113.9");
    private static final int POOL = parseAddress("198.51.100.1");

    private final UnsafeBuffer bytes = new UnsafeBuffer(new byte[ConnectionQueueHints.SLOTS]);
    private final ConnectionQueueHints hints = new ConnectionQueueHints(bytes, 4);

    /** A reply's addresses, server to pool, as its packets arrive. */
    private static long addresses(final int natPort)
    {
        return FlowTuple.packAddresses(SERVER, POOL);
    }

    private static long ports(final int natPort)
    {
        return FlowTuple.packPorts(6, 443, natPort);
    }

    @Test
    void shouldSteerByTheFlowHashWithoutAHint()
    {
        for (int port = 1024; port < 1100; port++)
        {
            assertEquals(QueueSteering.flowQueue(addresses(port), ports(port), 4), hints.queue(addresses(port), ports(port)));
        }
    }

    @Test
    void shouldWriteAHintOnlyWhereTheFlowHashGivesAnotherQueue()
    {
        int written = 0;
        for (int port = 1024; port < 1424; port++)
        {
            final int natural = QueueSteering.flowQueue(addresses(port), ports(port), 4);
            final int slot = QueueSteering.flowHash(addresses(port), ports(port));
            final boolean fresh = bytes.getByte(slot) == 0;
            hints.record(addresses(port), ports(port), 3);
            assertEquals(3, hints.queue(addresses(port), ports(port)), "port " + port);
            if (fresh)
            {
                assertEquals(natural == 3 ? 0 : 4, bytes.getByte(slot), "the byte the program reads, port " + port);
                written += natural == 3 ? 0 : 1;
            }
        }
        // a slot of each of 400 sums; the flow hash gives another queue than 3 for about three in four
        assertTrue(written > 250, "most of 400 slots needed a hint: " + written);
    }

    @Test
    void shouldOverwriteAnOlderConnectionsHintInTheSameSlot()
    {
        final int port = 5000;
        hints.record(addresses(port), ports(port), 1);
        hints.record(addresses(port), ports(port), 2);
        assertEquals(2, hints.queue(addresses(port), ports(port)));
        final int natural = QueueSteering.flowQueue(addresses(port), ports(port), 4);
        hints.record(addresses(port), ports(port), natural);
        assertEquals(natural, hints.queue(addresses(port), ports(port)), "an older hint is not left to point elsewhere");
        assertEquals(natural + 1, bytes.getByte(QueueSteering.flowHash(addresses(port), ports(port))));
    }

    @Test
    void shouldHashTheSlotAsTheProgramDoes()
    {
        // the program: the 64-bit sum of ports and host-order addresses, its low 32 bits times the multiplier, >>> 16
        final long addresses = FlowTuple.packAddresses(parseAddress("250.1.2.3"), parseAddress("200.9.8.7"));
        final long ports = FlowTuple.packPorts(17, 65535, 65534);
        final long sum = 0xFA010203L + 0xC8090807L + 65535 + 65534;
        assertEquals((int)sum * QueueSteering.MULTIPLIER >>> 16, QueueSteering.flowHash(addresses, ports));
        assertEquals(QueueSteering.queue(sum, 3), QueueSteering.flowQueue(addresses, ports, 3));
    }

    @Test
    void shouldRefuseABufferTooSmallOrQueuesAByteCannotName()
    {
        assertThrows(IllegalArgumentException.class, () -> new ConnectionQueueHints(new UnsafeBuffer(new byte[1024]), 2));
        assertThrows(IllegalArgumentException.class, () -> new ConnectionQueueHints(bytes, 256));
        assertThrows(IllegalArgumentException.class, () -> new ConnectionQueueHints(bytes, 0));
    }
}
