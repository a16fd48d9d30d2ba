package natgw.core.conntrack;

import org.junit.jupiter.api.Test;

import natgw.core.packet.DropReason;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WorkerCountersTest
{
    @Test
    void shouldCountEachCounterSeparately()
    {
        final WorkerCounters counters = new WorkerCounters(3);
        assertEquals(3, counters.worker());
        for (final ConntrackCounter counter : ConntrackCounter.values())
        {
            counters.add(counter, counter.id() + 1);
        }
        counters.increment(ConntrackCounter.INSERT);
        for (final ConntrackCounter counter : ConntrackCounter.values())
        {
            assertEquals(counter.id() + 1 + (counter == ConntrackCounter.INSERT ? 1 : 0), counters.get(counter), counter.label());
        }
        for (final DropReason reason : DropReason.values())
        {
            assertEquals(0, counters.get(reason), reason.label());
        }
    }

    @Test
    void shouldCountDropUnderItsReasonAndInTotal()
    {
        final WorkerCounters counters = new WorkerCounters(0);
        counters.drop(DropReason.FRAGMENT);
        counters.drop(DropReason.FRAGMENT);
        counters.drop(DropReason.TCP_INVALID_NEW);
        assertEquals(2, counters.get(DropReason.FRAGMENT));
        assertEquals(1, counters.get(DropReason.TCP_INVALID_NEW));
        assertEquals(0, counters.get(DropReason.TRUNCATED));
        assertEquals(3, counters.get(ConntrackCounter.DROPPED));
        assertEquals(0, counters.get(ConntrackCounter.DROP), "conntrack -S drop is only for failed creations");
    }

    @Test
    void shouldPrintStatsLikeConntrackMinusS()
    {
        final WorkerCounters counters = new WorkerCounters(1);
        counters.increment(ConntrackCounter.FOUND);
        counters.add(ConntrackCounter.INSERT_FAILED, 2);
        counters.drop(DropReason.NO_MAPPING);
        final String line = counters.statsLine();
        assertTrue(line.startsWith("cpu=1 found=1 invalid=0 insert=0 insert_failed=2 drop=0 early_drop=0"), line);
        assertTrue(line.contains(" dropped=1 ") && line.endsWith(" drop_no_mapping=1"), line);
        assertFalse(line.contains("drop_fragment"), "zero drop reasons are left out: " + line);
    }
}
