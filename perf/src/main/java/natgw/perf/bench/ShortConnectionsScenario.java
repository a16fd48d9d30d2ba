package natgw.perf.bench;

import java.util.ArrayList;
import java.util.List;

import natgw.perf.load.LoadResult;
import natgw.perf.load.ShortConnections;
import natgw.tun.lab.Lab;
import natgw.tun.lab.Role;

/**
 * Short TCP request/response connections (64-byte request echoed, then RST), closed loop (C in flight, the path
 * sets the rate) and open loop (fixed rate, latency from the intended start: corrected for coordinated omission).
 * Metrics are prefixed with the mode: {@code closed.connect}, {@code closed.request}, {@code open.connect},
 * {@code open.request}.
 *
 * <p>{@code short-connections} goes to the echo server through SNAT; {@code service-connect} ({@link #serviceConnect()})
 * goes to a DNAT service, {@code tcp:VIP:7000} with {@code --backends} backends, through SNAT+DNAT: the connection
 * setup latency through a service, natgw against the kernel's nftables DNAT.
 */
public final class ShortConnectionsScenario implements Scenario
{
    private final String name;
    private final boolean service;
    private ServiceBackends backends;

    public ShortConnectionsScenario()
    {
        this("short-connections", false);
    }

    private ShortConnectionsScenario(final String name, final boolean service)
    {
        this.name = name;
        this.service = service;
    }

    /** The same load through a DNAT service. */
    public static ShortConnectionsScenario serviceConnect()
    {
        return new ShortConnectionsScenario("service-connect", true);
    }

    @Override
    public String name()
    {
        return name;
    }

    @Override
    public boolean dnat()
    {
        return service;
    }

    @Override
    public String description()
    {
        return "Short TCP connections from all client addresses to " + (service ? "the service " + Lab.VIP_ADDR + ":" +
            ServiceBackends.TCP_PORT + " (DNAT, round robin over the backends 10.77.2.11.. in the server namespace, " +
            "plus SNAT so that replies return through the gateway)" : Lab.SERVER_ADDR + ":" + BenchRunner.ECHO_PORT) +
            ": connect, 64-byte request, echoed response, close with RST. Closed loop: a fixed number of " +
            "connections in flight, each replaced when done (measures the rate the path sustains). Open loop: " +
            "connections started on a fixed schedule whatever happens to earlier ones; latency counted from the " +
            "intended start time, so falling behind shows in the tail (coordinated omission corrected); the load " +
            "threads sleep in epoll until 250 us before each start and poll from there, so a start comes within " +
            "microseconds of its time without a CPU kept busy (open.start_lateness: how late each start was). " +
            "Conntrack counters cover whole segments, so both loops.";
    }

    @Override
    public List<String> defaultImpls()
    {
        return service ? List.of("kernel-dnat", "natgw-reserve") : List.of("kernel-masq", "natgw-reserve");
    }

    /** Refuses a settle that is not a number of seconds, 0 or more. */
    static void validate(final BenchOptions options)
    {
        if (!(options.settleS >= 0 && options.settleS <= 3600))
        {
            throw new IllegalArgumentException("--settle must be 0 to 3600 seconds, not " + options.settleS);
        }
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
        return List.of("closed.connect", "closed.request", "open.connect", "open.request", "open.start_lateness");
    }

    @Override
    public List<ScenarioResult.Column> extraColumns()
    {
        return List.of(new ScenarioResult.Column("settle errors", "settle_errors"));
    }

    /**
     * The closed loop's rate is what the path sustains; the open loop's is fixed, so not a figure. In both, the whole
     * machine's CPU per connection (gateway, both ends, the kernel's packet work; /proc/stat over the measurement): at
     * a fixed rate what the path costs, in the closed loop what the rate is bought with.
     */
    @Override
    public List<ScenarioResult.Figure> figures(final BenchOptions options)
    {
        final List<ScenarioResult.Figure> figures = new ArrayList<>();
        final List<String> modes = modes(options);
        if (modes.contains("closed"))
        {
            figures.add(new ScenarioResult.Figure("closed loop", "closed.conn_per_s", "conn/s"));
        }
        for (final String mode : modes)
        {
            figures.add(new ScenarioResult.Figure(mode + " loop, machine CPU per connection", mode + ".machine_cpu_us_per_conn",
                "us", true));
        }
        return figures;
    }

    @Override
    public void prepare(final BenchContext context) throws InterruptedException
    {
        validate(context.options());
        modes(context.options());
        if (service)
        {
            backends = ServiceBackends.start(context, context.options().backends);
            context.services(List.of(new LabService("tcp", Lab.VIP_ADDR, ServiceBackends.TCP_PORT,
                backends.endpoints(ServiceBackends.TCP_PORT))));
        }
    }

    @Override
    public LoadResult runSegment(final BenchContext context, final String impl, final String segmentName,
        final int block, final int blocks) throws Exception
    {
        final BenchOptions options = context.options();
        final LoadResult merged = new LoadResult();
        long settleErrors = 0;
        for (final String mode : modes(options))
        {
            final List<String> args = new ArrayList<>(List.of(
                "--server", service ? Lab.VIP_ADDR : Lab.SERVER_ADDR,
                "--port", String.valueOf(service ? ServiceBackends.TCP_PORT : BenchRunner.ECHO_PORT),
                "--sources", String.join(",", context.lab().clientAddresses()),
                "--mode", mode,
                "--threads", String.valueOf(options.threadsOrCpus()),
                "--concurrency", String.valueOf(options.concurrency),
                "--rate", String.valueOf(options.rate),
                "--duration-s", String.valueOf(options.durationS),
                "--settle-s", String.valueOf(options.settleS)));
            final long budgetMs = (long)((options.settleS + options.durationS) * 1000) + 40_000;
            final LoadResult result = LoadRunner.run(context, Role.CLIENT, ShortConnections.class, args,
                segmentName + "-" + mode, budgetMs, line -> context.progress().update(mode + " loop, " +
                    line.replace("completed=", "completed ").replace("errors=", "errors ")));
            result.histograms().forEach((k, v) -> merged.histogram(mode + "." + k, v));
            result.counts().forEach((k, v) -> merged.count(mode + "." + k, v));
            result.values().forEach((k, v) -> merged.value(mode + "." + k, v));
            settleErrors += result.count("settle_errors");
        }
        // not in the figures, but never hidden: a connection the path failed while it settled is shown
        return merged.count("settle_errors", settleErrors);
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
        if (backends != null)
        {
            backends.close();
            backends = null;
            context.services(List.of());
        }
    }
}
