package natgw.gateway;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

import natgw.tun.CommandResult;
import natgw.tun.Exec;
import natgw.tun.lab.Lab;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each scheduler, end to end: real HTTP requests from the client namespace through a VIP to backends in
 * namespaces of their own, which answer with their name. Weights 1:2:3 and a fourth backend draining (weight 0);
 * the shares are checked with Pearson's chi-square (p = 0.001) and per backend within 4.5 binomial standard
 * deviations of the weight's share, plus a discretisation allowance for sh's 256 buckets. rr and wrr must be
 * exact; sh and mh are asked from 200 client addresses, three times each, and must keep each client on one
 * backend. The gateway's own per-backend NewConn counts must match what the backends answered, but for
 * connections a client had to open again (see {@link #assertScheduledEveryAnswer}).
 */
@Tag("root")
class ServiceSchedulersIT
{
    private static final int CLIENTS = 200;
    private static final int REQUESTS = 600;
    private static final int[] WEIGHTS = { 1, 2, 3, 0 };
    private static final String[] SCHEDULERS = { "rr", "wrr", "lc", "wlc", "random", "sh", "mh" };
    private static final double[] CHI2_999 = { 10.83, 13.82, 16.27 };

    static ServiceLab lab;
    static final AtomicLongArray ACCEPTED = new AtomicLongArray(5);

    static String vip(final String scheduler)
    {
        for (int i = 0; i < SCHEDULERS.length; i++)
        {
            if (SCHEDULERS[i].equals(scheduler))
            {
                return "10.96.0." + (i + 1);
            }
        }
        throw new IllegalArgumentException(scheduler);
    }

    @BeforeAll
    static void up() throws Exception
    {
        lab = ServiceLab.up("ngws", CLIENTS, WEIGHTS.length);
        final List<String> args = new ArrayList<>();
        for (final String scheduler : SCHEDULERS)
        {
            final StringBuilder spec = new StringBuilder("tcp:" + vip(scheduler) + ":80/" + scheduler + "=");
            for (int b = 1; b <= WEIGHTS.length; b++)
            {
                spec.append(b > 1 ? "," : "").append(ServiceLab.backendAddress(b)).append(":80@").append(WEIGHTS[b - 1]);
            }
            args.add("--service");
            args.add(spec.toString());
        }
        for (int b = 1; b <= WEIGHTS.length; b++)
        {
            final int backend = b;
            lab.startBackend(b, "80", "-", line ->
            {
                if (line.startsWith("accept "))
                {
                    ACCEPTED.incrementAndGet(backend);
                }
            });
        }
        lab.startNatgw(args.toArray(String[]::new));
        lab.countHandshakes();
    }

    @AfterAll
    static void down() throws Exception
    {
        if (lab != null)
        {
            try
            {
                assertEquals(0, ACCEPTED.get(4), "the draining backend b4 accepted connections");
                assertEquals(0L, lab.conntrackStats().get("dropped"), "packets natgw dropped");
            }
            finally
            {
                lab.close();
            }
        }
    }

    /**
     * http-ask through the VIP; returns answers per source address, asserting none failed and natgw lost no SYN
     * or SYN-ACK on the way (each one handed to its TUN came back out; a lost SYN would have cost a retransmission).
     */
    private static Map<String, List<String>> ask(final String scheduler, final String sources, final int requests)
    {
        final ServiceLab.Handshakes before = lab.handshakes();
        final long retransmittedBefore = lab.clientSynRetransmissions();
        final CommandResult result = lab.inClient(ServiceLab.peer("http-ask", vip(scheduler), "80", sources,
            String.valueOf(requests), "4"));
        assertEquals(0, result.exitCode(), result.toString());
        final Map<String, List<String>> answers = new HashMap<>();
        for (final String line : result.stdout().split("\n"))
        {
            final String[] words = line.split(" ");
            if (words[0].equals("error"))
            {
                throw new AssertionError(scheduler + ": a request failed: " + line + "\n" + result.stdout());
            }
            if (words[0].equals("got"))
            {
                assertEquals("you-are", words[3], line);
                assertEquals(Lab.POOL_ADDR, words[4], "inside clients are masqueraded: the backend sees the pool; " + line);
                answers.computeIfAbsent(words[1], k -> new ArrayList<>()).add(words[2]);
            }
        }
        final int connections = sources.split(",").length * requests;
        final ServiceLab.Handshakes through = lab.awaitHandshakesThrough(before);
        final String detail = scheduler + ": " + through + " for " + connections + " connections, " +
            (lab.clientSynRetransmissions() - retransmittedBefore) + " SYN retransmissions by the clients";
        assertTrue(through.synsIn() >= connections, "every connection's SYN crossed natgw; " + detail);
        assertEquals(through.synsIn(), through.synsOut(), "SYNs natgw lost; " + detail);
        assertEquals(through.synAcksIn(), through.synAcksOut(), "SYN-ACKs natgw lost; " + detail);
        return answers;
    }

    private static int[] count(final List<String> names)
    {
        final int[] counts = new int[WEIGHTS.length];
        for (final String name : names)
        {
            counts[Integer.parseInt(name.substring(1)) - 1]++;
        }
        return counts;
    }

    /** Chi-square over the live backends and each within 4.5 sd (+ slack) of its weight's share; weight 0 gets none. */
    private static void assertWeighted(final String what, final int[] counts, final int[] weights, final double slack)
    {
        int samples = 0;
        int total = 0;
        int live = 0;
        for (int i = 0; i < counts.length; i++)
        {
            samples += counts[i];
            total += weights[i];
            live += weights[i] > 0 ? 1 : 0;
        }
        final String detail = what + ": " + java.util.Arrays.toString(counts) + " for weights " + java.util.Arrays.toString(weights);
        double chi2 = 0;
        for (int i = 0; i < counts.length; i++)
        {
            if (weights[i] == 0)
            {
                assertEquals(0, counts[i], "a draining backend got new connections; " + detail);
                continue;
            }
            final double p = (double)weights[i] / total;
            final double expected = samples * p;
            final double sd = Math.sqrt(samples * p * (1 - p));
            assertTrue(Math.abs(counts[i] - expected) <= 4.5 * sd + slack, "b" + (i + 1) + " off by " +
                Math.round(counts[i] - expected) + " (sd " + Math.round(sd) + "); " + detail);
            chi2 += Math.max(0, Math.abs(counts[i] - expected) - slack) * Math.max(0, Math.abs(counts[i] - expected) - slack) / expected;
        }
        assertTrue(chi2 <= CHI2_999[live - 2], "chi-square " + chi2 + " > " + CHI2_999[live - 2] + "; " + detail);
    }

    /** NewConn per backend of this scheduler's service, from natgw services. */
    private static int[] newConnections(final String scheduler)
    {
        final String listing = lab.natgwOk("services");
        final int[] counts = new int[WEIGHTS.length];
        boolean inService = false;
        for (final String line : listing.split("\n"))
        {
            final String[] head = line.trim().split("\\s+");
            if (!line.startsWith("  "))
            {
                inService = head.length >= 3 && head[0].equals("TCP") && head[1].equals(vip(scheduler) + ":80") &&
                    head[2].equals(scheduler);
                continue;
            }
            if (inService && line.trim().startsWith("-> 10.77."))
            {
                final String[] f = line.trim().split("\\s+");
                // -> ADDR:PORT Masq Weight ActiveConn InActConn NewConn ...
                final int backend = Integer.parseInt(f[1].split("\\.")[2]) - 10;
                counts[backend - 1] = Integer.parseInt(f[6]);
            }
        }
        return counts;
    }

    @ParameterizedTest
    @ValueSource(strings = { "rr", "wrr", "lc", "wlc", "random" })
    void shouldDistributeConnectionsByWeight(final String scheduler)
    {
        final long retransmittedBefore = lab.clientSynRetransmissions();
        final int[] counts = count(ask(scheduler, "-", REQUESTS).get("-"));
        final int[] scheduled = newConnections(scheduler);
        final long retransmitted = lab.clientSynRetransmissions() - retransmittedBefore;
        System.out.println(scheduler + ": b1..b4 got " + java.util.Arrays.toString(counts) + " of " + REQUESTS +
            " for weights " + java.util.Arrays.toString(WEIGHTS) + "; natgw scheduled " +
            java.util.Arrays.toString(scheduled) + ", " + retransmitted + " SYN retransmissions");
        assertScheduledEveryAnswer(scheduler, counts, scheduled, retransmitted);
        switch (scheduler)
        {
            case "rr":
                // rr honours weight 0 only: equal turns for the live backends
                assertTurns(scheduler, retransmitted == 0 ? counts : scheduled, new int[]{ 1, 1, 1, 0 });
                break;
            case "wrr":
                assertTurns(scheduler, retransmitted == 0 ? counts : scheduled, WEIGHTS);
                break;
            case "lc":
                // closed connections linger in TIME_WAIT: least connections levels what each holds, weights aside
                assertWeighted(scheduler, counts, new int[]{ 1, 1, 1, 0 }, 0);
                break;
            default:
                assertWeighted(scheduler, counts, WEIGHTS, 0);
        }
    }

    /**
     * natgw's NewConn per backend against the answers. They are equal unless a client sent a SYN again: the server
     * closes first, so a backend holds TIME_WAIT for the pool address and port, and a client port reused towards
     * another VIP that lands on that backend (the port kept, since natgw's own entry was ended by a reopen) can
     * meet a TIME_WAIT that refuses its SYN (RFC 6191: neither sequence number nor timestamp newer, both being
     * another tuple's). The client resets and retransmits, the SYN reopens the CLOSE connection, and the scheduler
     * picks again: one more NewConn for the same answer, as the kernel's conntrack would count it.
     */
    private static void assertScheduledEveryAnswer(
        final String scheduler, final int[] answers, final int[] scheduled, final long retransmitted)
    {
        final String detail = scheduler + ": answers " + java.util.Arrays.toString(answers) + ", natgw NewConn " +
            java.util.Arrays.toString(scheduled) + ", " + retransmitted + " SYN retransmissions by the clients; " +
            "natgw's counters so far: " + lab.conntrackStats();
        int surplus = 0;
        for (int b = 0; b < answers.length; b++)
        {
            assertTrue(scheduled[b] >= answers[b], "b" + (b + 1) + " answered more than natgw scheduled to it; " + detail);
            surplus += scheduled[b] - answers[b];
        }
        assertTrue(surplus <= retransmitted, "natgw scheduled more connections than the clients' SYNs explain; " + detail);
    }

    /** A turn-taking scheduler: after n picks, each backend within one pick of n times its weight's share. */
    private static void assertTurns(final String scheduler, final int[] counts, final int[] weights)
    {
        int picks = 0;
        int total = 0;
        for (int b = 0; b < counts.length; b++)
        {
            picks += counts[b];
            total += weights[b];
        }
        final int[] expected = new int[counts.length];
        for (int b = 0; b < counts.length; b++)
        {
            expected[b] = picks * weights[b] / total;
            if (picks % total == 0 || weights[b] == 0)
            {
                assertEquals(expected[b], counts[b], scheduler + " b" + (b + 1) + ": " + java.util.Arrays.toString(counts));
            }
            else
            {
                assertTrue(Math.abs(counts[b] - picks * (double)weights[b] / total) <= 1,
                    scheduler + " b" + (b + 1) + ": " + java.util.Arrays.toString(counts) + " for weights " +
                    java.util.Arrays.toString(weights));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = { "sh", "mh" })
    void shouldHashEachClientToOneBackendByWeight(final String scheduler)
    {
        final StringBuilder sources = new StringBuilder();
        for (int i = 0; i < CLIENTS; i++)
        {
            sources.append(i > 0 ? "," : "").append(Lab.clientAddress(i));
        }
        final Map<String, List<String>> answers = ask(scheduler, sources.toString(), 3);
        assertEquals(CLIENTS, answers.size());
        final List<String> firstAnswers = new ArrayList<>();
        for (final Map.Entry<String, List<String>> e : answers.entrySet())
        {
            assertEquals(3, e.getValue().size());
            assertEquals(1, new java.util.HashSet<>(e.getValue()).size(), scheduler + " moved client " + e.getKey() + ": " + e.getValue());
            firstAnswers.add(e.getValue().get(0));
        }
        System.out.println(scheduler + ": " + CLIENTS + " clients on b1..b4: " + java.util.Arrays.toString(count(firstAnswers)) +
            " for weights " + java.util.Arrays.toString(WEIGHTS) + ", each client always on the same backend");
        // sh deals 256 buckets by weight: a backend's share may be off its weight's by up to one bucket
        assertWeighted(scheduler, count(firstAnswers), WEIGHTS, scheduler.equals("sh") ? CLIENTS / 256.0 : 0);
    }
}
