package natgw.core.flow;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QueueSteeringTest
{
    @Test
    void shouldHashAPortAsThe32BitProgramDoes()
    {
        assertEquals((int)((40000L * 0x9E3779B1L & 0xFFFF_FFFFL) >>> 16), QueueSteering.portHash(40000));
        assertEquals(0, QueueSteering.portHash(0));
        assertTrue(QueueSteering.portHash(65535) <= 0xFFFF);
    }

    @Test
    void shouldSpreadClientPortsOfOneParityToOneServerPortOverTwoQueues()
    {
        // Linux's connect() takes ports of one parity, bind() the other: a plain sum modulo 2 would be one queue
        for (int parity = 0; parity < 2; parity++)
        {
            final int[] perQueue = new int[2];
            for (int port = 32768 + parity; port < 61000; port += 2)
            {
                perQueue[QueueSteering.portsQueue(port, 443, 2)]++;
            }
            final int total = perQueue[0] + perQueue[1];
            assertTrue(perQueue[0] > total * 0.45 && perQueue[1] > total * 0.45, java.util.Arrays.toString(perQueue));
        }
    }

    @Test
    void shouldGiveAKeptPortsRepliesTheQueueOfItsOriginals()
    {
        for (int queues = 2; queues <= 5; queues++)
        {
            for (int port = 1024; port < 2048; port++)
            {
                assertEquals(QueueSteering.portsQueue(port, 443, queues), QueueSteering.portsQueue(443, port, queues));
            }
        }
    }

    @Test
    void shouldAddBothAddressesUnsignedForAFlow()
    {
        final long addresses = FlowTuple.packAddresses(FlowTuple.parseAddress("200.1.0.5"), FlowTuple.parseAddress("10.0.0.1"));
        final long ports = FlowTuple.packPorts(17, 40000, 53);
        final long sum = 0xC8010005L + 0x0A000001L + QueueSteering.portHash(40000) + QueueSteering.portHash(53);
        for (int queues = 2; queues <= 5; queues++)
        {
            assertEquals(sum % queues, QueueSteering.flowQueue(addresses, ports, queues));
        }
    }
}
