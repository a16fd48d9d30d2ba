package natgw.perf.bench.behave;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TimerReadingTest
{
    private static final long MS = 1_000_000;

    @Test
    void shouldGiveTheTimeoutExactlyWhenExchangeAndListingAreQuick()
    {
        // a 30 s timer refreshed at 5 ms, listed at 400 ms: 29 s left
        final TimerReading reading = TimerReading.of(29, 0, 10 * MS, 390 * MS, 420 * MS);
        assertEquals(new TimerReading(30, 30), reading);
        assertEquals("30 s", reading.toString());
    }

    @Test
    void shouldWidenTheRangeByASlowListing()
    {
        // refreshed at 5 ms, a JVM-started listing made at 1.9 s: 28 s left of 30
        final TimerReading reading = TimerReading.of(28, 0, 10 * MS, 20 * MS, 2_500 * MS);
        assertEquals(new TimerReading(29, 31), reading);
        assertEquals("29-31 s", reading.toString());
        assertTrue(reading.mayReach(30));
        assertFalse(reading.mayReach(32));
    }

    @Test
    void shouldCountAFractionOfASecondAsOneWhateverItsSize()
    {
        // refreshed at 0.5 ms, listed 0.3 ms after the exchange ended: 29 s left of 30
        assertEquals(new TimerReading(30, 30), TimerReading.of(29, 0, MS / 2, MS / 2 + 300_000, MS));
        // the listing's start not told apart from the exchange's end: still some time passed
        assertEquals(new TimerReading(30, 30), TimerReading.of(29, 0, MS / 2, MS / 2, MS));
    }

    @Test
    void shouldTellOverlappingReadingsWithinTheSlack()
    {
        final TimerReading thirty = new TimerReading(30, 30);
        assertTrue(thirty.overlaps(new TimerReading(29, 31), 0));
        assertTrue(thirty.overlaps(new TimerReading(31, 31), 1));
        assertFalse(thirty.overlaps(new TimerReading(120, 120), 1));
    }
}
