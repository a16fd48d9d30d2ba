package natgw.core.flow;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
            assertEquals(sum % queues, QueueSteering.flowQueue(addresses, ports, queues));
        }
    }
}
