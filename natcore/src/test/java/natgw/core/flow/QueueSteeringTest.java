package natgw.core.flow;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QueueSteeringTest
{
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
        final long sum = 0xC8010005L + 0x0A000001L + 40000 + 53;
        for (int queues = 2; queues <= 5; queues++)
        {
            assertEquals(QueueSteering.queue(sum, queues), QueueSteering.flowQueue(addresses, ports, queues));
        }
    }

    @Test
    void shouldHashTheSumAsTheProgramsDo()
    {
        // the programs: w0 = sum; w0 *= 0x9E3779B1; w0 >>= 16; w0 %= queues (unsigned 32-bit), written out here
        final long[] sums = {0, 1, 2, 40_443, 65_535 + 65_535, 0xC8010005L + 0x0A000001L + 40_000 + 53, 0xFFFF_FFFFL + 0xFFFF_FFFFL};
        for (final long sum : sums)
        {
            final long product = (sum & 0xFFFF_FFFFL) * 0x9E3779B1L & 0xFFFF_FFFFL;
            for (int queues = 1; queues <= 7; queues++)
            {
                assertEquals((product >>> 16) % queues, QueueSteering.queue(sum, queues), "sum " + sum + ", " + queues + " queues");
            }
        }
    }

    @Test
    void shouldSpreadAClientsConnectPortsOfOneParityOverBothQueues()
    {
        // Linux gives connect() ports of one parity: a plain sum with one server port would put them all on one queue
        final int[] perQueue = new int[2];
        for (int port = 32_768; port < 32_768 + 2 * 1_000; port += 2)
        {
            perQueue[QueueSteering.portsQueue(port, 7, 2)]++;
        }
        assertTrue(perQueue[0] > 400 && perQueue[1] > 400, "1,000 even client ports to port 7: " + java.util.Arrays.toString(perQueue));
    }

    @Test
    void shouldSpreadConsecutivePortsOverEveryQueue()
    {
        for (int queues = 2; queues <= 8; queues++)
        {
            final int[] perQueue = new int[queues];
            for (int port = 40_000; port < 40_000 + 100 * queues; port++)
            {
                perQueue[QueueSteering.portsQueue(port, 443, queues)]++;
            }
            for (int q = 0; q < queues; q++)
            {
                assertTrue(perQueue[q] > 50, queues + " queues, 100 ports per queue: " + java.util.Arrays.toString(perQueue));
            }
        }
    }
}
