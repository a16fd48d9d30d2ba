package natgw.core.nat;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import natgw.core.flow.FlowTuple;
import natgw.core.flow.QueueSteering;

import static natgw.core.flow.FlowTuple.parseAddress;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConnectionQueueHintsTest
{
    private static final int SERVER = parseAddress("203.0.113.9");
    private static final int POOL = parseAddress("198.51.100.1");
    private static final int TCP = 6;

    private final UnsafeBuffer words = new UnsafeBuffer(new byte[ConnectionQueueHints.BYTES]);
    private final ConnectionQueueHints hints = new ConnectionQueueHints(words, 4);

    /** A reply's addresses, server to pool, as its packets arrive. */
    private static long addresses()
    {
        return FlowTuple.packAddresses(SERVER, POOL);
    }

    private static long ports(final int serverPort, final int natPort)
    {
        return FlowTuple.packPorts(TCP, serverPort, natPort);
    }

    private static int word(final UnsafeBuffer words, final long addresses, final long ports)
    {
        return words.getShort(QueueSteering.flowHash(addresses, ports) * Short.BYTES) & 0xFFFF;
    }

    @Test
    void shouldSteerByTheFlowHashWithoutAHint()
    {
        for (int port = 1024; port < 1100; port++)
        {
            assertEquals(QueueSteering.flowQueue(addresses(), ports(443, port), 4), hints.queue(addresses(), ports(443, port)));
        }
    }

    @Test
    void shouldWriteATaggedHintOnlyWhereTheFlowHashGivesAnotherQueue()
    {
        int written = 0;
        for (int port = 1024; port < 1424; port++)
        {
            final long ports = ports(443, port);
            final int natural = QueueSteering.flowQueue(addresses(), ports, 4);
            hints.record(addresses(), ports, 3);
            assertEquals(3, hints.queue(addresses(), ports), "port " + port);
            final int tag = QueueSteering.flowProduct(addresses(), ports) >>> 8 & 0xFF;
            assertEquals(natural == 3 ? 0 : tag << 8 | 4, word(words, addresses(), ports), "the word the program reads, port " + port);
            written += natural == 3 ? 0 : 1;
        }
        // 400 sums, 400 slots; the flow hash gives another queue than 3 for about three in four
        assertTrue(written > 250, "most of 400 slots needed a hint: " + written);
    }

    @Test
    void shouldLeaveAnotherTuplesHintToItsOwnTupleAndSteerByTheFlowHash()
    {
        // two reply tuples in one slot with different tags: found by trying server ports for a second one
        final long first = ports(443, 40000);
        final int slot = QueueSteering.flowHash(addresses(), first);
        final int tag = QueueSteering.flowProduct(addresses(), first) >>> 8 & 0xFF;
        long second = -1;
        for (int serverPort = 1; serverPort < 65536 && second == -1; serverPort++)
        {
            for (int natPort = 1024; natPort < 65536; natPort += 509)
            {
                final long candidate = ports(serverPort, natPort);
                if (QueueSteering.flowHash(addresses(), candidate) == slot &&
                    (QueueSteering.flowProduct(addresses(), candidate) >>> 8 & 0xFF) != tag)
                {
                    second = candidate;
                    break;
                }
            }
        }
        assertNotEquals(-1, second, "a second tuple in the slot");
        final int natural = slot % 4;
        final int hinted = (natural + 1) % 4;
        hints.record(addresses(), first, hinted);
        assertEquals(hinted, hints.queue(addresses(), first));
        assertEquals(natural, hints.queue(addresses(), second), "a new flow in the slot goes by its flow hash, not by the hint");
        hints.record(addresses(), second, hinted);
        assertEquals(hinted, hints.queue(addresses(), second));
        assertEquals(natural, hints.queue(addresses(), first), "the later connection's hint replaced the earlier one's");
    }

    @Test
    void shouldOverwriteAnOlderHintOfTheSameTuple()
    {
        final long ports = ports(443, 5000);
        final int natural = QueueSteering.flowQueue(addresses(), ports, 4);
        hints.record(addresses(), ports, (natural + 1) % 4);
        hints.record(addresses(), ports, (natural + 2) % 4);
        assertEquals((natural + 2) % 4, hints.queue(addresses(), ports));
        hints.record(addresses(), ports, natural);
        assertEquals(natural, hints.queue(addresses(), ports), "an older hint is not left to point elsewhere");
    }

    @Test
    void shouldLeaveProtocolsOtherThanTcpAndUdpAlone()
    {
        final long icmp = FlowTuple.packPorts(1, 7, 7);
        hints.record(addresses(), icmp, (QueueSteering.flowQueue(addresses(), icmp, 4) + 1) % 4);
        assertEquals(0, word(words, addresses(), icmp), "ICMP goes by its addresses: no hint to write");
    }

    @Test
    void shouldComputeTheProductAsTheProgramDoes()
    {
        // the program: the 64-bit sum of ports and host-order addresses, its low 32 bits times the multiplier
        final long addresses = FlowTuple.packAddresses(parseAddress("250.1.2.3"), parseAddress("200.9.8.7"));
        final long ports = FlowTuple.packPorts(17, 65535, 65534);
        final long sum = 0xFA010203L + 0xC8090807L + 65535 + 65534;
        assertEquals((int)sum * QueueSteering.MULTIPLIER, QueueSteering.flowProduct(addresses, ports));
        assertEquals((int)sum * QueueSteering.MULTIPLIER >>> 16, QueueSteering.flowHash(addresses, ports));
        assertEquals(QueueSteering.queue(sum, 3), QueueSteering.flowQueue(addresses, ports, 3));
    }

    @Test
    void shouldRefuseABufferTooSmallOrQueuesAHintCannotName()
    {
        assertThrows(IllegalArgumentException.class, () -> new ConnectionQueueHints(new UnsafeBuffer(new byte[ConnectionQueueHints.SLOTS]), 2));
        assertThrows(IllegalArgumentException.class, () -> new ConnectionQueueHints(words, 256));
        assertThrows(IllegalArgumentException.class, () -> new ConnectionQueueHints(words, 0));
    }
}
