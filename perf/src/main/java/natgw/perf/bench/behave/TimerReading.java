package natgw.perf.bench.behave;

import java.util.concurrent.TimeUnit;

/**
 * A connection's whole timeout, read from a listing that gives only the whole seconds left: the seconds left plus the
 * time gone since the exchange that refreshed it. That time is known only between bounds (the packet passed the
 * gateway during the exchange, the listing was made while its command ran, which for {@code natgw conntrack -L} is a
 * JVM start), so the timeout is a range of whole seconds: {@code [low, high]}, one value when both take well under a
 * second.
 */
record TimerReading(long low, long high)
{
    /**
     * @param leftS            the seconds left, as listed (rounded down).
     * @param exchangeStartNs  before the first packet of the exchange.
     * @param exchangeEndNs    after its last packet.
     * @param listingStartNs   before the listing command.
     * @param listingEndNs     after it.
     */
    static TimerReading of(final long leftS, final long exchangeStartNs, final long exchangeEndNs,
        final long listingStartNs, final long listingEndNs)
    {
        // some time always passed between the packet and the listing: at least one second once rounded up
        return new TimerReading(leftS + Math.max(1, ceilSeconds(listingStartNs - exchangeEndNs)),
            leftS + ceilSeconds(listingEndNs - exchangeStartNs));
    }

    private static long ceilSeconds(final long ns)
    {
        final long second = TimeUnit.SECONDS.toNanos(1);
        return (Math.max(0, ns) + second - 1) / second;
    }

    /** Whether the timeout may be at least {@code seconds}: the reading does not exclude it. */
    boolean mayReach(final long seconds)
    {
        return high >= seconds;
    }

    /** Whether the two readings may be of one timeout, within {@code slackS} seconds. */
    boolean overlaps(final TimerReading other, final long slackS)
    {
        return low <= other.high + slackS && other.low <= high + slackS;
    }

    @Override
    public String toString()
    {
        return (low == high ? String.valueOf(low) : low + "-" + high) + " s";
    }
}
