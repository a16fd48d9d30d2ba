package natgw.gateway;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import natgw.core.conntrack.ConntrackEvents;
import natgw.core.nat.PortStrategy;

import static org.junit.jupiter.api.Assertions.assertEquals;

class WorkerWarmupTest
{
    @ParameterizedTest(name = "virtio-net headers {0}")
    @ValueSource(booleans = {false, true})
    void shouldForwardEveryDatagramOfEveryBatchSizeThroughAWorker(final boolean vnetHeaders)
    {
        long offered = 0;
        for (int batch = 0; batch < WorkerWarmup.BATCHES; batch++)
        {
            offered += WorkerWarmup.packetsIn(batch);
        }

        final long forwarded = WorkerWarmup.run(PortStrategy.RESERVE, vnetHeaders, ConntrackEvents.NONE, 0);

        assertEquals(offered, forwarded, "the forwarding path, not a drop, is what gets compiled");
    }
}
