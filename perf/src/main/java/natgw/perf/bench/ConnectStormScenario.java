package natgw.perf.bench;

import java.util.List;

import natgw.perf.load.ConnectStorm;
import natgw.perf.load.LoadResult;
import natgw.tun.lab.Lab;
import natgw.tun.lab.Role;

/**
 * Incident 1: K client addresses connect to one server port from the same source port at the same instant, R rounds.
 * Through the kernel's default masquerade two CPUs can pick the same NAT port between check and insert; the loser's
 * SYN is dropped (insert_failed, drop) and retransmitted 1 s later. Per implementation: connect latency histogram,
 * stalls (connects of 1 s or more), errors, conntrack counters.
 */
public final class ConnectStormScenario implements Scenario
{
    /** Source ports of the storm: a fresh one each round, never reused within a run. */
    static final int BASE_PORT = 20000;
    static final int PORT_SPAN = 12000;
    static final long TIMEOUT_MS = 8_000;

    private long nextRound;

    @Override
    public String name()
    {
        return "connect-storm";
    }

    @Override
    public String description()
    {
        return "Incident 1: K client addresses open a TCP connection each to " + Lab.SERVER_ADDR + ":" +
            BenchRunner.ECHO_PORT + " from the same source port at the same instant (threads spin to a common start " +
            "time), one round every interval, a fresh source port per round. Connect latency per connection " +
            "(HdrHistogram); a stall is a connect of 1 s or more (a dropped SYN, retransmitted); each connection " +
            "then echoes one byte and is closed with RST.";
    }

    @Override
    public List<String> defaultImpls()
    {
        return List.of("kernel-masq", "kernel-masq-fully-random", "natgw-reserve", "natgw-kernel");
    }

    @Override
    public List<String> metrics()
    {
        return List.of("connect");
    }

    @Override
    public void prepare(final BenchContext context)
    {
        nextRound = 0;
    }

    static int roundsInBlock(final int rounds, final int block, final int blocks)
    {
        return rounds / blocks + (block < rounds % blocks ? 1 : 0);
    }

    @Override
    public LoadResult runSegment(final BenchContext context, final String impl, final String segmentName,
        final int block, final int blocks) throws Exception
    {
        final BenchOptions options = context.options();
        final int rounds = roundsInBlock(options.rounds, block, blocks);
        final long firstRound = nextRound;
        nextRound += rounds;
        final List<String> args = List.of(
            "--server", Lab.SERVER_ADDR,
            "--port", String.valueOf(BenchRunner.ECHO_PORT),
            "--sources", String.join(",", context.lab().clientAddresses()),
            "--base-port", String.valueOf(BASE_PORT),
            "--port-span", String.valueOf(PORT_SPAN),
            "--first-round", String.valueOf(firstRound),
            "--rounds", String.valueOf(rounds),
            "--interval-ms", String.valueOf(options.intervalMs),
            "--threads", String.valueOf(options.threadsOrCpus()),
            "--timeout-ms", String.valueOf(TIMEOUT_MS));
        final long budgetMs = (long)(rounds * options.intervalMs) + TIMEOUT_MS + 30_000;
        return LoadRunner.run(context, Role.CLIENT, ConnectStorm.class, args, segmentName, budgetMs,
            line -> context.progress().update(progressText(line, rounds)));
    }

    /** "rounds=3 completed=120 stalls=0 errors=0" to "round 3/50, 120 connected, 0 stalls, 0 errors". */
    static String progressText(final String line, final int rounds)
    {
        String text = line;
        for (final String field : line.split("\\s+"))
        {
            if (field.startsWith("rounds="))
            {
                text = text.replace(field, "round " + field.substring(7) + "/" + rounds);
            }
        }
        return text.replace("completed=", "connected ").replace("stalls=", "stalls ").replace("errors=", "errors ");
    }

    @Override
    public String throughputText(final ImplResult result)
    {
        return "-";
    }

    @Override
    public void finish(final BenchContext context)
    {
        // the echo server belongs to the runner
    }
}
