package natgw.perf.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MedianIntervalTest
{
    @Test
    void shouldGiveNoIntervalForFiveValues()
    {
        assertNull(MedianInterval.of(List.of(1.0, 2.0, 3.0, 4.0, 5.0)), "five values reach 93.75 % at most");
    }

    @Test
    void shouldSpanAllSixValuesWithTheirCoverage()
    {
        final MedianInterval interval = MedianInterval.of(List.of(1.04, 0.97, 1.10, 1.01, 0.99, 1.20));
        assertEquals(0.97, interval.low);
        assertEquals(1.20, interval.high);
        assertEquals(1 - 2.0 / 64, interval.coverage, 1e-12);
        assertEquals("not told apart", interval.verdict());
        assertEquals("0.97-1.20, not told apart", interval.toString());
    }

    @Test
    void shouldLeaveOutTheOuterValueAtEachEndOfTen()
    {
        final List<Double> ten = List.of(1.09, 1.02, 1.30, 1.05, 1.07, 1.01, 1.12, 1.04, 0.95, 1.06);
        final MedianInterval interval = MedianInterval.of(ten);
        assertEquals(1.01, interval.low, "the second lowest");
        assertEquals(1.12, interval.high, "the second highest");
        assertEquals(1 - 2 * 11.0 / 1024, interval.coverage, 1e-12);
        assertEquals("higher", interval.verdict());
    }

    @Test
    void shouldSayLowerWhenTheWholeIntervalIsBelowOne()
    {
        assertEquals("lower", MedianInterval.of(List.of(0.91, 0.95, 0.88, 0.97, 0.93, 0.99)).verdict());
    }

    /** For every count from 6 to 60: the narrowest interval that still holds 95 %, computed from the binomial directly. */
    @Test
    void shouldBeTheNarrowestOrderStatisticIntervalAtNinetyFivePercent()
    {
        for (int n = MedianInterval.MIN_VALUES; n <= 60; n++)
        {
            final List<Double> ranks = new ArrayList<>();
            for (int i = 1; i <= n; i++)
            {
                ranks.add((double)i);
            }
            final MedianInterval interval = MedianInterval.of(ranks);
            final int k = (int)interval.low;
            assertEquals(n + 1 - k, (int)interval.high, "symmetric in rank, n=" + n);
            assertTrue(coverage(n, k) >= 0.95, "n=" + n + " k=" + k + " covers " + coverage(n, k));
            assertTrue(coverage(n, k + 1) < 0.95, "n=" + n + ": k+1=" + (k + 1) + " would still cover " + coverage(n, k + 1));
            assertEquals(coverage(n, k), interval.coverage, 1e-9, "n=" + n);
        }
    }

    /** Ten draws from a skewed distribution whose median is 1: the interval holds 1 as often as its coverage says. */
    @Test
    void shouldHoldTheTrueMedianAsOftenAsItsCoverageSays()
    {
        final Random random = new Random(42);
        final int trials = 20_000;
        int held = 0;
        double coverage = 0;
        for (int t = 0; t < trials; t++)
        {
            final List<Double> values = new ArrayList<>();
            for (int i = 0; i < 10; i++)
            {
                values.add(Math.exp(0.2 * random.nextGaussian())); // log-normal, median exactly 1
            }
            final MedianInterval interval = MedianInterval.of(values);
            coverage = interval.coverage;
            if (interval.low <= 1 && 1 <= interval.high)
            {
                held++;
            }
        }
        final double observed = (double)held / trials;
        // binomial standard error of the observed share: about 0.001 here
        assertEquals(coverage, observed, 0.005, "held the median in " + held + " of " + trials);
    }

    /** 1 - 2 P(B <= k - 1), B ~ Binomial(n, 1/2), summed with exact binomial coefficients. */
    private static double coverage(final int n, final int k)
    {
        double tail = 0;
        for (int j = 0; j <= k - 1; j++)
        {
            tail += choose(n, j) / Math.pow(2, n);
        }
        return 1 - 2 * tail;
    }

    private static double choose(final int n, final int j)
    {
        double c = 1;
        for (int i = 0; i < j; i++)
        {
            c = c * (n - i) / (i + 1);
        }
        return c;
    }
}
