package natgw.perf.bench;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RateSearchTest
{
    /** A path that delivers up to {@code capacity} packets a second and drops the rest; a sender up to {@code senderMax}. */
    private static RateSearch.Trials path(final double capacity, final double senderMax, final List<Double> asked)
    {
        return pps ->
        {
            asked.add(pps);
            final double sent = Math.min(pps, senderMax);
            return new RateSearch.Trial(pps, sent, Math.min(1.0, capacity / sent));
        };
    }

    @Test
    void shouldFindTheRateAPathCarriesWithinTheLossLimitToItsResolution() throws Exception
    {
        final List<Double> asked = new ArrayList<>();
        final RateSearch.Result found = new RateSearch(0.005, 12).search(400_000, 180_000, path(230_000, 1e9, asked));

        assertFalse(found.senderBound());
        assertEquals(180_000, asked.get(0), "first at what the flood delivered");
        assertTrue(found.pps() <= 230_000 / (1 - 0.005), "never above what the path carries: " + found.pps());
        assertTrue(found.pps() >= 230_000 * (1 - 2 * RateSearch.RESOLUTION), "close to it: " + found.pps());
        assertEquals(asked.size(), found.trials().size());
    }

    @Test
    void shouldTryALosingRateOnceMoreBeforeItBoundsTheSearch() throws Exception
    {
        final List<Double> asked = new ArrayList<>();
        final RateSearch.Result found = new RateSearch(0.005, 4).search(400_000, 100_000, path(230_000, 1e9, asked));

        assertEquals(List.of(100_000.0, 250_000.0, 250_000.0, 175_000.0), asked);
        assertEquals(175_000, found.pps(), 1e-6);
    }

    @Test
    void shouldCountARateCarriedWhenItLostOnlyOnce() throws Exception
    {
        final List<Double> asked = new ArrayList<>();
        final RateSearch.Trials stallOnce = pps ->
        {
            asked.add(pps);
            return new RateSearch.Trial(pps, pps, asked.size() == 1 ? 0.9 : 1.0);
        };

        final RateSearch.Result found = new RateSearch(0.005, 2).search(400_000, 200_000, stallOnce);

        assertEquals(List.of(200_000.0, 200_000.0), asked);
        assertEquals(200_000, found.pps(), 1e-6);
    }

    @Test
    void shouldReportTheFloodAsSenderBoundWhenThePathLostNoMoreThanTheLimitOfIt() throws Exception
    {
        final List<Double> asked = new ArrayList<>();
        final RateSearch.Result found = new RateSearch(0.005, 6).search(100_000, 99_800, path(1e9, 1e9, asked));

        assertTrue(found.senderBound());
        assertEquals(99_800, found.pps(), 1e-6);
        assertTrue(asked.isEmpty(), "no trial: no paced sender offers more than the flood did");
    }

    @Test
    void shouldCountARateAsCarriedOnlyAsFarAsTheSenderOfferedIt() throws Exception
    {
        final RateSearch.Result found = new RateSearch(0.005, 6).search(400_000, 200_000, path(1e9, 150_000, new ArrayList<>()));

        assertEquals(150_000, found.pps(), 1e-6, "the sender never achieved more");
    }

    @Test
    void shouldFindNoRateWhenEveryTrialLosesMoreThanTheLimit() throws Exception
    {
        final RateSearch.Trials lossy = pps -> new RateSearch.Trial(pps, pps, 0.9);

        final RateSearch.Result found = new RateSearch(0.005, 5).search(400_000, 200_000, lossy);

        assertEquals(0, found.pps());
        assertEquals(5, found.trials().size());
    }

    @Test
    void shouldRefuseALossLimitOrTrialCountThatCannotSearch()
    {
        assertThrows(IllegalArgumentException.class, () -> new RateSearch(-0.1, 6));
        assertThrows(IllegalArgumentException.class, () -> new RateSearch(1.0, 6));
        assertThrows(IllegalArgumentException.class, () -> new RateSearch(0.005, 0));
    }
}
