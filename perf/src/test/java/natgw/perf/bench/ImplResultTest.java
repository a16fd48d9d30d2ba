package natgw.perf.bench;

import java.util.Map;

import natgw.perf.load.LoadResult;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImplResultTest
{
    static LoadResult segment(final long fromUs, final long toUs, final long stalls, final double gbps)
    {
        final Histogram h = LoadResult.newHistogram();
        for (long us = fromUs; us <= toUs; us++)
        {
            h.recordValue(us * 1000);
        }
        return new LoadResult().histogram("connect", h).count("stalls", stalls).count("completed", toUs - fromUs + 1)
            .value("tcp_gbps", gbps);
    }

    @Test
    void shouldMergeHistogramsOfAllSegments()
    {
        final ImplResult result = new ImplResult("kernel-masq", "test");
        result.add(0, segment(1, 1000, 1, 1.0), Map.of());
        result.add(1, segment(1001, 2000, 2, 3.0), Map.of());
        final Histogram merged = result.histogram("connect");
        assertEquals(2000, merged.getTotalCount());
        assertEquals(1000, merged.getValueAtPercentile(50) / 1000, 2);
        assertEquals(2000, merged.getMaxValue() / 1000, 2);
        assertEquals(1, merged.getMinValue() / 1000);
    }

    @Test
    void shouldSumCountsAndCountersAndTakeMedianOfValues()
    {
        final ImplResult result = new ImplResult("natgw-reserve", "test");
        result.add(0, segment(1, 10, 1, 1.0), Map.of("insert_failed", 2L, "drop", 1L, "entries", 40L));
        result.add(1, segment(1, 10, 2, 5.0), Map.of("insert_failed", 3L, "drop", 0L, "entries", 80L));
        result.add(2, segment(1, 10, 0, 2.0), Map.of("insert_failed", 0L, "drop", 0L));
        assertEquals(3, result.count("stalls"));
        assertEquals(30, result.count("completed"));
        assertEquals(5L, result.counter("insert_failed"));
        assertEquals(1L, result.counter("drop"));
        assertNull(result.counter("entries"), "a level, not a count: not summed");
        assertEquals(2.0, result.median("tcp_gbps"));
        assertEquals(3, result.segments().size());
        assertTrue(result.ran());
    }

    @Test
    void shouldTakeMeanOfMiddlePairForEvenSegmentCount()
    {
        final ImplResult result = new ImplResult("x", "test");
        result.add(0, segment(1, 2, 0, 1.0), Map.of());
        result.add(1, segment(1, 2, 0, 4.0), Map.of());
        assertEquals(2.5, result.median("tcp_gbps"));
        assertTrue(Double.isNaN(result.median("udp_rx_kpps")));
    }

    @Test
    void shouldReportNoCountersForImplementationWithoutConntrack()
    {
        final ImplResult result = new ImplResult("nulltun", "test");
        result.add(0, segment(1, 2, 0, 1.0), Map.of());
        assertNull(result.counter("insert_failed"));
        assertFalse(new ImplResult("never", "ran").ran());
    }
}
