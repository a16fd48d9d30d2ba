package natgw.core.nat;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import natgw.core.packet.Ipv4Header;

import static natgw.core.flow.FlowTuple.parseAddress;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The schedulers of {@link Service#schedule}. Distributions are checked with Pearson's chi-square test
 * against the weights (significance 0.001, fixed seeds, so a failure is a real skew, not bad luck) and,
 * per backend, within 4.5 binomial standard deviations of its weight's share; deterministic schedulers
 * (rr, wrr, and lc/wlc over lingering connections) must hit the weights exactly per cycle.
 */
class ServiceTest
{
    private static final int VIP = parseAddress("10.96.0.10");
    private static final int FIRST_CLIENT = parseAddress("10.1.0.0");
    private static final int[] WEIGHTS = { 1, 2, 3 };
    /** Chi-square critical values at p = 0.001 for 1..9 degrees of freedom. */
    private static final double[] CHI2_999 = { 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12, 27.88 };

    private final BackendCounters counters = new BackendCounters();

    /** A service on a fresh registry, backends 10.0.1.1, 10.0.1.2, ... with these weights (ids 0, 1, ...). */
    static Service service(final Scheduler scheduler, final int... weights)
    {
        final Services services = new Services();
        final Services.ServiceSpec spec = Services.ServiceSpec.parseKey("tcp:10.96.0.10:80/" + scheduler.label());
        for (int i = 0; i < weights.length; i++)
        {
            spec.backends.add(Services.ServiceSpec.parseBackend("10.0.1." + (i + 1) + ":8080@" + weights[i]));
        }
        services.add(spec);
        return services.current().services().get(0);
    }

    /** Schedules {@code samples} new connections, each from a different client, as a worker would. */
    private int[] distribute(final Service service, final int samples, final long seed)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final int[] counts = new int[service.backends().length];
        for (int i = 0; i < samples; i++)
        {
            final int index = service.schedule(FIRST_CLIENT + i, random.nextInt() & 0x7FFF_FFFF, counters);
            assertTrue(index >= 0, "no backend for a new connection");
            counts[index]++;
            if (service.scheduler() == Scheduler.LC || service.scheduler() == Scheduler.WLC)
            {
                // connections linger (TIME_WAIT, or still open): lc/wlc balance what each backend holds
                counters.add(service.backends()[index].id(), BackendCounters.LIVE, 1);
            }
        }
        return counts;
    }

    /** Pearson's chi-square against the weights' shares, and each backend within 4.5 sd of its share (+ slack). */
    static void assertWeighted(final int[] counts, final int[] weights, final double slackPerBackend, final String what)
    {
        long samples = 0;
        long total = 0;
        int live = 0;
        for (int i = 0; i < counts.length; i++)
        {
            samples += counts[i];
            total += weights[i];
            if (weights[i] > 0)
            {
                live++;
            }
        }
        double chi2 = 0;
        final StringBuilder detail = new StringBuilder(what).append(": counts ");
        for (int i = 0; i < counts.length; i++)
        {
            detail.append(counts[i]).append(i + 1 < counts.length ? "/" : " for weights ");
        }
        for (int i = 0; i < weights.length; i++)
        {
            detail.append(weights[i]).append(i + 1 < weights.length ? "/" : "");
        }
        for (int i = 0; i < counts.length; i++)
        {
            if (weights[i] == 0)
            {
                assertEquals(0, counts[i], "a weight-0 (draining) backend got new connections; " + detail);
                continue;
            }
            final double p = (double)weights[i] / total;
            final double expected = samples * p;
            chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
            final double sd = Math.sqrt(samples * p * (1 - p));
            assertTrue(Math.abs(counts[i] - expected) <= 4.5 * sd + slackPerBackend,
                "backend " + i + " off by " + Math.round(counts[i] - expected) + " (sd " + Math.round(sd) + "); " + detail);
        }
        if (live > 1)
        {
            assertTrue(chi2 <= CHI2_999[live - 2] + slackPerBackend * slackPerBackend * live / (samples / (double)live),
                "chi-square " + chi2 + " > " + CHI2_999[live - 2] + "; " + detail);
        }
    }

    private static int[] equalWeights(final int[] weights)
    {
        final int[] equal = new int[weights.length];
        for (int i = 0; i < weights.length; i++)
        {
            equal[i] = weights[i] > 0 ? 1 : 0;
        }
        return equal;
    }

    // ------------------------------------------------------------------ each scheduler follows the weights

    @Test
    void shouldRoundRobinEquallyIgnoringWeights()
    {
        final int[] counts = distribute(service(Scheduler.RR, WEIGHTS), 600, 1);
        assertArrayEquals(new int[]{ 200, 200, 200 }, counts, "rr, like IPVS rr, only honours weight 0");
    }

    @Test
    void shouldRoundRobinEquallyOverTheLiveBackendsWhenOneDrains()
    {
        // IPVS rr goes on from the last backend it chose: the one after a drained backend must not get its turns too
        final int[] counts = distribute(service(Scheduler.RR, 1, 1, 0, 1), 3000, 1);
        assertArrayEquals(new int[]{ 1000, 1000, 0, 1000 }, counts);
    }

    @Test
    void shouldRoundRobinInOrder()
    {
        final Service rr = service(Scheduler.RR, 1, 1, 1);
        for (int i = 0; i < 9; i++)
        {
            assertEquals(i % 3, rr.schedule(FIRST_CLIENT, 0, counters));
        }
    }

    @Test
    void shouldWeightedRoundRobinExactlyPerCycle()
    {
        assertArrayEquals(new int[]{ 100, 200, 300 }, distribute(service(Scheduler.WRR, WEIGHTS), 600, 1));
        assertArrayEquals(new int[]{ 500, 0, 1500 }, distribute(service(Scheduler.WRR, 1, 0, 3), 2000, 1));
    }

    @Test
    void shouldInterleaveWeightedRoundRobinSmoothly()
    {
        // nginx smooth wrr for 5,1,1: a a b a c a a (the heavy backend's turns spread out, not 5 in a row)
        final Service wrr = service(Scheduler.WRR, 5, 1, 1);
        final int[] sequence = new int[7];
        for (int i = 0; i < 7; i++)
        {
            sequence[i] = wrr.schedule(FIRST_CLIENT, 0, counters);
        }
        assertArrayEquals(new int[]{ 0, 0, 1, 0, 2, 0, 0 }, sequence);
    }

    @Test
    void shouldSpreadLeastConnectionsEquallyIgnoringWeights()
    {
        final int[] counts = distribute(service(Scheduler.LC, WEIGHTS), 600, 3);
        assertArrayEquals(new int[]{ 200, 200, 200 }, counts);
    }

    @Test
    void shouldSpreadWeightedLeastConnectionsByWeight()
    {
        final int[] counts = distribute(service(Scheduler.WLC, WEIGHTS), 600, 3);
        for (int i = 0; i < 3; i++)
        {
            assertTrue(Math.abs(counts[i] - 100 * WEIGHTS[i]) <= 1, "wlc keeps live/weight level: " + counts[i] + " for weight " + WEIGHTS[i]);
        }
    }

    @Test
    void shouldPickRandomlyByWeight()
    {
        assertWeighted(distribute(service(Scheduler.RANDOM, WEIGHTS), 60_000, 7), WEIGHTS, 0, "random");
        assertWeighted(distribute(service(Scheduler.RANDOM, 5, 0, 1, 1, 1), 60_000, 8), new int[]{ 5, 0, 1, 1, 1 }, 0, "random");
    }

    @Test
    void shouldHashSourcesByWeight()
    {
        // 256 buckets dealt by weight: a share can be off by up to one bucket from the weight's
        final int samples = 60_000;
        assertWeighted(distribute(service(Scheduler.SH, WEIGHTS), samples, 1), WEIGHTS, samples / 256.0, "sh");
        assertWeighted(distribute(service(Scheduler.SH, 1, 1, 1, 1), samples, 1), new int[]{ 1, 1, 1, 1 }, samples / 256.0, "sh");
    }

    @Test
    void shouldMaglevHashSourcesByWeight()
    {
        assertWeighted(distribute(service(Scheduler.MH, WEIGHTS), 60_000, 1), WEIGHTS, 0, "mh");
        final int[] ten = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
        assertWeighted(distribute(service(Scheduler.MH, ten), 100_000, 1), ten, 0, "mh");
    }

    @Test
    void shouldFillTheMaglevTableInProportionToWeight()
    {
        final int[] table = Service.maglev(service(Scheduler.MH, 1, 2, 3, 0).backends());
        final int[] slots = new int[4];
        for (final int index : table)
        {
            slots[index]++;
        }
        assertEquals(0, slots[3]);
        for (int i = 0; i < 3; i++)
        {
            assertEquals(Service.MAGLEV_SIZE * (i + 1) / 6.0, slots[i], 2.0, "slots of backend " + i);
        }
    }

    // ------------------------------------------------------------------ draining and no backend

    @ParameterizedTest
    @EnumSource(Scheduler.class)
    void shouldNeverGiveANewConnectionToADrainingBackend(final Scheduler scheduler)
    {
        final Service service = service(scheduler, 2, 0, 1, 0);
        // lc/wlc: the draining backends hold the fewest connections, so they would be the favourites
        counters.add(0, BackendCounters.LIVE, 50);
        counters.add(2, BackendCounters.LIVE, 50);
        final int[] counts = distribute(service, 20_000, 11);
        assertEquals(0, counts[1], scheduler + " sent new connections to a draining backend");
        assertEquals(0, counts[3], scheduler + " sent new connections to a draining backend");
        assertTrue(counts[0] > 0 && counts[2] > 0, scheduler + " left a live backend out");
    }

    @ParameterizedTest
    @EnumSource(Scheduler.class)
    void shouldFindNoBackendWhenAllDrainOrNoneExists(final Scheduler scheduler)
    {
        final Service drained = service(scheduler, 0, 0, 0);
        final Service empty = service(scheduler);
        for (int i = 0; i < 100; i++)
        {
            assertEquals(-1, drained.schedule(FIRST_CLIENT + i, i * 7919, counters), scheduler + " with all drained");
            assertEquals(-1, empty.schedule(FIRST_CLIENT + i, i * 7919, counters), scheduler + " without backends");
        }
    }

    // ------------------------------------------------------------------ lc/wlc: least loaded

    @Test
    void shouldPickTheLeastConnectedBackend()
    {
        final Service lc = service(Scheduler.LC, 1, 5, 1);
        counters.add(0, BackendCounters.LIVE, 5);
        counters.add(1, BackendCounters.LIVE, 3);
        counters.add(2, BackendCounters.LIVE, 2);
        for (int r = 0; r < 50; r++)
        {
            assertEquals(2, lc.schedule(FIRST_CLIENT, r, counters), "lc ignores weights, only counts");
        }
        counters.add(2, BackendCounters.LIVE, 10);
        assertEquals(1, lc.schedule(FIRST_CLIENT, 0, counters));
    }

    @Test
    void shouldPickTheLeastConnectedBackendPerUnitOfWeight()
    {
        final Service wlc = service(Scheduler.WLC, 1, 4, 2);
        counters.add(0, BackendCounters.LIVE, 2); // 2 per weight
        counters.add(1, BackendCounters.LIVE, 6); // 1.5 per weight
        counters.add(2, BackendCounters.LIVE, 4); // 2 per weight
        for (int r = 0; r < 50; r++)
        {
            assertEquals(1, wlc.schedule(FIRST_CLIENT, r, counters));
        }
        counters.add(1, BackendCounters.LIVE, 3); // 2.25 per weight
        for (int r = 0; r < 50; r++)
        {
            final int pick = wlc.schedule(FIRST_CLIENT, r, counters);
            assertTrue(pick == 0 || pick == 2, "a tie between 0 and 2, got " + pick);
        }
    }

    @Test
    void shouldBreakLeastConnectionTiesAtRandom()
    {
        final int[] counts = new int[3];
        final Service lc = service(Scheduler.LC, 1, 1, 1);
        final SplittableRandom random = new SplittableRandom(5);
        for (int i = 0; i < 30_000; i++)
        {
            counts[lc.schedule(FIRST_CLIENT, random.nextInt() & 0x7FFF_FFFF, counters)]++; // no connection ever stays
        }
        assertWeighted(counts, new int[]{ 1, 1, 1 }, 0, "lc ties");
    }

    // ------------------------------------------------------------------ sh/mh: stable per client, Maglev minimal disruption

    @ParameterizedTest
    @EnumSource(value = Scheduler.class, names = { "SH", "MH" })
    void shouldKeepEachClientOnOneBackend(final Scheduler scheduler)
    {
        final Service first = service(scheduler, WEIGHTS);
        final Service rebuilt = service(scheduler, WEIGHTS);
        final SplittableRandom random = new SplittableRandom(9);
        final int[] used = new int[3];
        for (int i = 0; i < 5000; i++)
        {
            final int client = FIRST_CLIENT + i * 13;
            final int index = first.schedule(client, 0, counters);
            used[index]++;
            for (int repeat = 0; repeat < 4; repeat++)
            {
                assertEquals(index, first.schedule(client, random.nextInt() & 0x7FFF_FFFF, counters));
                assertEquals(index, rebuilt.schedule(client, random.nextInt() & 0x7FFF_FFFF, counters),
                    "a new snapshot of the same backends must map a client the same");
            }
        }
        for (final int u : used)
        {
            assertTrue(u > 0, "every backend gets clients");
        }
    }

    /** Ten equal backends 10.0.1.1..10, without the {@code removed}-th (0-based; -1: all ten). */
    private static Service withoutBackend(final int removed)
    {
        final Services services = new Services();
        final Services.ServiceSpec spec = Services.ServiceSpec.parseKey("tcp:10.96.0.10:80/mh");
        for (int i = 0; i < 10; i++)
        {
            if (i != removed)
            {
                spec.backends.add(Services.ServiceSpec.parseBackend("10.0.1." + (i + 1) + ":8080"));
            }
        }
        services.add(spec);
        return services.current().services().get(0);
    }

    @Test
    void shouldMoveFewMaglevClientsWhenOneBackendOfTenIsRemoved()
    {
        final Service before = withoutBackend(-1);
        final int clients = 50_000;
        int onOthers = 0;
        int kept = 0;
        for (int removed = 0; removed < 10; removed += 3)
        {
            final Service after = withoutBackend(removed);
            final int removedAddress = parseAddress("10.0.1." + (removed + 1));
            for (int i = 0; i < clients; i++)
            {
                final int client = FIRST_CLIENT + i;
                final int was = before.backends()[before.schedule(client, 0, counters)].address();
                final int now = after.backends()[after.schedule(client, 0, counters)].address();
                assertNotEquals(removedAddress, now);
                if (was != removedAddress)
                {
                    onOthers++;
                    if (was == now)
                    {
                        kept++;
                    }
                }
            }
        }
        final double keptShare = (double)kept / onOthers;
        // the Maglev paper's tables of this size move well under 5 % of the unaffected clients
        assertTrue(keptShare >= 0.95, "only " + keptShare + " of the clients of the remaining backends kept theirs");
    }

    @Test
    void shouldMoveFewMaglevClientsWhenOneBackendOfTenDrains()
    {
        final int[] weights = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
        final Service before = service(Scheduler.MH, weights);
        weights[4] = 0;
        final Service after = service(Scheduler.MH, weights);
        int onOthers = 0;
        int kept = 0;
        for (int i = 0; i < 50_000; i++)
        {
            final int was = before.schedule(FIRST_CLIENT + i, 0, counters);
            final int now = after.schedule(FIRST_CLIENT + i, 0, counters);
            assertNotEquals(4, now);
            if (was != 4)
            {
                onOthers++;
                kept += was == now ? 1 : 0;
            }
        }
        assertTrue((double)kept / onOthers >= 0.95, kept + " of " + onOthers + " kept their backend");
    }

    @Test
    void shouldDescribeItself()
    {
        final Service s = service(Scheduler.WLC, 1);
        assertEquals("tcp:10.96.0.10:80", s.key());
        assertEquals(VIP, s.vip());
        assertEquals(80, s.port());
        assertEquals(Ipv4Header.PROTO_TCP, s.protocol());
        assertEquals(Scheduler.WLC, s.scheduler());
        assertEquals("udp:10.96.0.10:53", Service.keyString(Ipv4Header.PROTO_UDP, VIP, 53));
    }
}
