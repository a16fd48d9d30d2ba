package natgw.perf.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The highest offered packet rate a path carries with at most a given loss, found by bisection over short paced
 * trials (the "partial drop rate" of a throughput search, RFC 2544 section 26.1 with a loss tolerance): an unpaced
 * flood says what the sender can offer and what the path delivered then, a rate between those two is tried, and the
 * bounds close in. A flood alone measures how two CPUs are shared between the sender and the forwarder as much as
 * the forwarder: the faster the sender, the more it drops on the way (session 15's bimodal small-UDP figure).
 * <p>
 * A trial's offered rate is what the sender achieved, not what it was asked for, so a sender that fell behind
 * never makes a rate look carried that was not offered. A rate that loses more than the limit is tried once more
 * before it bounds the search: on two CPUs shared with the sender, one stall of the forwarder longer than its queue
 * (the TUN's 5,000 packets are 25 ms at 200,000 a second) loses a trial's share at any rate near the limit.
 */
final class RateSearch
{
    /** One paced trial: packets a second the sender achieved, and the share of them delivered. */
    record Trial(double askedPps, double sentPps, double delivered)
    {
        double loss()
        {
            return 1.0 - delivered;
        }

        @Override
        public String toString()
        {
            return String.format(Locale.ROOT, "asked %.0f pps, sent %.0f pps, delivered %.4f", askedPps, sentPps, delivered);
        }
    }

    /** Runs one paced trial at a rate; may throw when the sender fails. */
    @FunctionalInterface
    interface Trials
    {
        Trial run(double pps) throws Exception;
    }

    /** The search's answer, and the trials that gave it, in order. */
    record Result(double pps, boolean senderBound, List<Trial> trials)
    {
    }

    /** Bisection stops once the bounds are this close, relative to the upper one. */
    static final double RESOLUTION = 0.02;

    private final double lossLimit;
    private final int maxTrials;

    /**
     * @param lossLimit the loss a carried rate may have, 0.005 for 0.5 %.
     * @param maxTrials paced trials at most.
     */
    RateSearch(final double lossLimit, final int maxTrials)
    {
        if (lossLimit < 0 || lossLimit >= 1 || maxTrials < 1)
        {
            throw new IllegalArgumentException("loss limit in [0, 1) and at least one trial, not " + lossLimit + ", " + maxTrials);
        }
        this.lossLimit = lossLimit;
        this.maxTrials = maxTrials;
    }

    /**
     * @param floodSentPps what the unpaced sender offered: the most any trial can offer.
     * @param floodDeliveredPps what the path delivered of it: the first rate tried.
     */
    Result search(final double floodSentPps, final double floodDeliveredPps, final Trials trials) throws Exception
    {
        final List<Trial> done = new ArrayList<>();
        if (floodSentPps <= 0)
        {
            return new Result(0, false, done);
        }
        if (floodDeliveredPps >= floodSentPps * (1.0 - lossLimit))
        {
            // the path carried all the sender could offer: its limit is beyond what this sender measures
            return new Result(floodDeliveredPps, true, done);
        }
        double carried = 0;   // the highest offered rate seen carried
        double refused = floodSentPps;   // the lowest rate seen lose more than the limit
        double rate = Math.max(1, floodDeliveredPps);
        boolean lostOnce = false;
        while (done.size() < maxTrials)
        {
            final Trial trial = trials.run(rate);
            done.add(trial);
            if (trial.loss() <= lossLimit)
            {
                carried = Math.max(carried, trial.sentPps());
            }
            else if (!lostOnce)
            {
                lostOnce = true;
                continue; // the same rate again
            }
            else
            {
                refused = Math.min(refused, Math.max(trial.sentPps(), 1));
            }
            lostOnce = false;
            if (refused <= carried)
            {
                // a rate carried above one refused: the path's limit wanders between trials; keep the carried one
                refused = carried * (1 + RESOLUTION);
            }
            if (refused - carried <= refused * RESOLUTION)
            {
                break;
            }
            rate = (carried + refused) / 2;
        }
        return new Result(carried, false, done);
    }
}
