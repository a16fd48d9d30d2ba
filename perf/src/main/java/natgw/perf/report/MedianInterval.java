package natgw.perf.report;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * A 95 % interval for the median of a few values, by their order statistics (the sign test's interval, as in
 * Conover, "Practical Nonparametric Statistics"): with n values sorted, [x(k), x(n+1-k)] holds the median of the
 * distribution they were drawn from with probability 1 - 2 P(B < k), B ~ Binomial(n, 1/2). It assumes nothing of
 * that distribution's shape, which suits block ratios on a noisy machine; it needs at least {@link #MIN_VALUES}
 * values, since five cannot reach 95 % (their widest interval holds 93.75 %).
 * <p>
 * Quoted for the blocks' ratios of one run: whether natgw's median is below, above or not told apart from its
 * ceiling's is then a statement with a stated confidence, not a reading of one pooled figure.
 */
final class MedianInterval
{
    static final double CONFIDENCE = 0.95;
    static final int MIN_VALUES = 6;

    final double low;
    final double high;
    /** The interval's own coverage, at least {@link #CONFIDENCE}. */
    final double coverage;

    private MedianInterval(final double low, final double high, final double coverage)
    {
        this.low = low;
        this.high = high;
        this.coverage = coverage;
    }

    /** The interval of {@code values}' median; null with fewer than {@link #MIN_VALUES} values. */
    static MedianInterval of(final List<Double> values)
    {
        final int n = values.size();
        if (n < MIN_VALUES)
        {
            return null;
        }
        final List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        // the largest k whose two tails, P(B <= k - 1) each, leave at least CONFIDENCE between them
        int k = 1;
        while (2 * binomialCdf(n, k) <= 1 - CONFIDENCE)
        {
            k++;
        }
        return new MedianInterval(sorted.get(k - 1), sorted.get(n - k), 1 - 2 * binomialCdf(n, k - 1));
    }

    /** P(B <= j) for B ~ Binomial(n, 1/2). */
    static double binomialCdf(final int n, final int j)
    {
        double term = Math.pow(0.5, n); // C(n, 0) / 2^n
        double sum = term;
        for (int i = 1; i <= j; i++)
        {
            term = term * (n - i + 1) / i;
            sum += term;
        }
        return sum;
    }

    /** What the interval says of a ratio against 1: {@code lower}, {@code higher} or {@code not told apart}. */
    String verdict()
    {
        return high < 1 ? "lower" : low > 1 ? "higher" : "not told apart";
    }

    /** {@code 0.95-1.10, not told apart}. */
    public String toString()
    {
        return String.format(Locale.ROOT, "%.2f-%.2f, %s", low, high, verdict());
    }
}
