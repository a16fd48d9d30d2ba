package natgw.gateway;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import natgw.core.conntrack.ConntrackEvents;
import natgw.core.nat.PortStrategy;
import natgw.core.pipeline.Warmup;
import natgw.tun.TunQueue;

import static org.junit.jupiter.api.Assertions.assertEquals;

class TunIdleStrategyTest
{
    private final CountingQueue queue = new CountingQueue();
    private long nowNs = 1_000_000;
    private boolean drained;

    @Test
    void shouldReadAgainAtOnceAfterAFullBatch()
    {
        final TunIdleStrategy idle = new TunIdleStrategy(queue, 100, 0, () -> nowNs, () -> drained);

        idle.idle(64);

        assertEquals(0, queue.awaits, "more packets may be waiting: doWork reads again");
    }

    @Test
    void shouldSleepInPollRightAfterWorkThatDrainedTheQueue()
    {
        final TunIdleStrategy idle = new TunIdleStrategy(queue, 100, 0, () -> nowNs, () -> drained);
        drained = true;

        idle.idle(3);

        assertEquals(1, queue.awaits, "the read that found the queue empty is not repeated");
    }

    @Test
    void shouldTakeTheDrainedStateOfTheWorkerItIsMadeFor()
    {
        final Worker worker = new Worker(0, queue,
            Warmup.scratch(PortStrategy.RESERVE, false, ConntrackEvents.NONE).pipeline(), () -> nowNs);
        final TunIdleStrategy idle = TunIdleStrategy.forWorker(queue, 100, 0, () -> nowNs, worker);

        worker.doWork(); // its read finds the queue empty
        idle.idle(1);

        assertEquals(1, queue.awaits, "after work that ended on an empty queue the worker sleeps at once");
    }

    @Test
    void shouldSleepInPollAtOnceWithoutBusyPolling()
    {
        final TunIdleStrategy idle = new TunIdleStrategy(queue, 100, 0, () -> nowNs, () -> drained);

        idle.idle(0);

        assertEquals(1, queue.awaits);
    }

    @Test
    void shouldSpinForTheBusyPollTimeThenSleep()
    {
        final TunIdleStrategy idle = new TunIdleStrategy(queue, 100, 50_000, () -> nowNs, () -> drained);

        idle.idle(0);
        nowNs += 49_999;
        idle.idle(0);
        assertEquals(0, queue.awaits, "still within 50 us of the last work");

        nowNs += 1;
        idle.idle(0);
        assertEquals(1, queue.awaits);
    }

    @Test
    void shouldStartTheSpinAnewAfterWork()
    {
        final TunIdleStrategy idle = new TunIdleStrategy(queue, 100, 50_000, () -> nowNs, () -> drained);
        idle.idle(0);
        nowNs += 40_000;
        idle.idle(3);
        idle.idle(0);
        nowNs += 40_000;
        idle.idle(0);

        assertEquals(0, queue.awaits, "the spin counts from the last idle after work, not the first");
    }

    private static final class CountingQueue implements TunQueue
    {
        int awaits;

        public int batchSize()
        {
            return 1;
        }

        public int read(final UnsafeBuffer[] bufs, final int[] sizes, final int offset)
        {
            return 0;
        }

        public int write(final UnsafeBuffer[] bufs, final int[] sizes, final int offset, final int count)
        {
            return 0;
        }

        public boolean awaitReadable(final long timeoutMs)
        {
            awaits++;
            return false;
        }

        public void wakeup()
        {
        }

        public void close()
        {
        }
    }
}
