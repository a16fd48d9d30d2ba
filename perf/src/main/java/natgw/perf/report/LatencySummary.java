package natgw.perf.report;

import org.HdrHistogram.Histogram;

/** The percentiles a report shows, in microseconds, from a nanosecond histogram. */
public record LatencySummary(long count, double p50Us, double p90Us, double p99Us, double p999Us, double p9999Us,
    double maxUs, double meanUs)
{
    public static LatencySummary of(final Histogram histogram)
    {
        return new LatencySummary(
            histogram.getTotalCount(),
            us(histogram.getValueAtPercentile(50)),
            us(histogram.getValueAtPercentile(90)),
            us(histogram.getValueAtPercentile(99)),
            us(histogram.getValueAtPercentile(99.9)),
            us(histogram.getValueAtPercentile(99.99)),
            us(histogram.getMaxValue()),
            histogram.getMean() / 1000.0);
    }

    private static double us(final long ns)
    {
        return ns / 1000.0;
    }
}
