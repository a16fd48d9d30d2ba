package natgw.core.nat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class BackendCountersTest
{
    private final BackendCounters counters = new BackendCounters();

    @Test
    void shouldKeepEachBackendsFieldsApart()
    {
        final int[] fields = { BackendCounters.NEW, BackendCounters.LIVE, BackendCounters.SYN_RST,
            BackendCounters.SYN_UNANSWERED, BackendCounters.ICMP_ERRORS };
        for (final int id : new int[]{ 0, 1, 2, BackendCounters.MAX_BACKENDS - 1 })
        {
            for (int f = 0; f < fields.length; f++)
            {
                counters.add(id, fields[f], 100L * id + f + 1);
            }
        }
        for (final int id : new int[]{ 0, 1, 2, BackendCounters.MAX_BACKENDS - 1 })
        {
            for (int f = 0; f < fields.length; f++)
            {
                assertEquals(100L * id + f + 1, counters.get(id, fields[f]), "backend " + id + " field " + fields[f]);
            }
        }
        assertEquals(0, counters.get(3, BackendCounters.NEW));
    }

    @Test
    void shouldCountDownLiveConnections()
    {
        counters.add(5, BackendCounters.LIVE, 3);
        counters.add(5, BackendCounters.LIVE, -2);
        assertEquals(1, counters.get(5, BackendCounters.LIVE));
    }

    @Test
    void shouldLoseNoUpdateFromConcurrentWorkers() throws Exception
    {
        final List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++)
        {
            threads.add(new Thread(() ->
            {
                for (int i = 0; i < 100_000; i++)
                {
                    counters.add(9, BackendCounters.NEW, 1);
                    counters.add(9, BackendCounters.LIVE, 1);
                    counters.add(9, BackendCounters.LIVE, -1);
                }
            }));
        }
        threads.forEach(Thread::start);
        for (final Thread t : threads)
        {
            t.join();
        }
        assertEquals(400_000, counters.get(9, BackendCounters.NEW));
        assertEquals(0, counters.get(9, BackendCounters.LIVE));
    }
}
