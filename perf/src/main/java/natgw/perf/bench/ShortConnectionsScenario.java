package natgw.perf.bench;

import java.util.ArrayList;
import java.util.List;

import natgw.perf.lab.Lab;
import natgw.perf.lab.Role;
import natgw.perf.load.LoadResult;
import natgw.perf.load.ShortConnections;

/**
 * Short TCP request/response connections (64-byte request echoed, then RST), closed loop (C in flight, the path
 * sets the rate) and open loop (fixed rate, latency from the intended start: corrected for coordinated omission).
 * Metrics are prefixed with the mode: {@code closed.connect}, {@code closed.request}, {@code open.connect},
 * {@code open.request}.
 */
public final class ShortConnectionsScenario implements Scenario
{
    @Override
    public String name()
    {
        return "short-connections";
    }

    @Override
    public String description()
    {
        return "Short TCP connections from all client addresses to " + Lab.SERVER_ADDR + ":" + BenchRunner.ECHO_PORT +
            ": connect, 64-byte request, echoed response, close with RST. Closed loop: a fixed number of " +
            "connections in flight, each replaced when done (measures the rate the path sustains). Open loop: " +
            "connections started on a fixed schedule whatever happens to earlier ones; latency counted from the " +
            "intended start time, so falling behind shows in the tail (coordinated omission corrected). Conntrack " +
            "counters cover whole segments, so both loops.";
    }

    @Override
    public List<String> defaultImpls()
    {
        return List.of("kernel-masq", "natgw-reserve");
    }

    @Override
    public List<String> requiredTools()
    {
        return List.of();
    }

    List<String> modes(final BenchOptions options)
    {
        return switch (options.mode)
        {
            case "closed" -> List.of("closed");
            case "open" -> List.of("open");
            case "both" -> List.of("closed", "open");
            default -> throw new IllegalArgumentException("--mode must be closed, open or both, not " + options.mode);
        };
    }

    @Override
    public List<String> metrics()
    {
        return List.of("closed.connect", "closed.request", "open.connect", "open.request");
    }

    @Override
    public void prepare(final BenchContext context)
    {
        modes(context.options());
    }

    @Override
    public LoadResult runSegment(final BenchContext context, final String impl, final String segmentName,
        final int block, final int blocks) throws Exception
    {
        final BenchOptions options = context.options();
        final LoadResult merged = new LoadResult();
        for (final String mode : modes(options))
        {
            final List<String> args = new ArrayList<>(List.of(
                "--server", Lab.SERVER_ADDR,
                "--port", String.valueOf(BenchRunner.ECHO_PORT),
                "--sources", String.join(",", context.lab().clientAddresses()),
                "--mode", mode,
                "--threads", String.valueOf(options.threadsOrCpus()),
                "--concurrency", String.valueOf(options.concurrency),
                "--rate", String.valueOf(options.rate),
                "--duration-s", String.valueOf(options.durationS)));
            final long budgetMs = (long)(options.durationS * 1000) + 40_000;
            final LoadResult result = LoadRunner.run(context, Role.CLIENT, ShortConnections.class, args,
                segmentName + "-" + mode, budgetMs, line -> context.progress().update(mode + " loop, " +
                    line.replace("completed=", "completed ").replace("errors=", "errors ")));
            result.histograms().forEach((k, v) -> merged.histogram(mode + "." + k, v));
            result.counts().forEach((k, v) -> merged.count(mode + "." + k, v));
            result.values().forEach((k, v) -> merged.value(mode + "." + k, v));
        }
        return merged;
    }

    @Override
    public String throughputText(final ImplResult result)
    {
        final List<String> parts = new ArrayList<>();
        if (!Double.isNaN(result.median("closed.conn_per_s")))
        {
            parts.add(String.format("closed %.0f conn/s", result.median("closed.conn_per_s")));
        }
        if (!Double.isNaN(result.median("open.conn_per_s")))
        {
            parts.add(String.format("open %.0f of %.0f conn/s", result.median("open.conn_per_s"),
                result.median("open.target_conn_per_s")));
        }
        return parts.isEmpty() ? "-" : String.join(", ", parts);
    }

    @Override
    public void finish(final BenchContext context)
    {
        // the echo server belongs to the runner
    }
}
