package natgw.perf.bench;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import natgw.perf.load.EchoServer;
import natgw.perf.load.LoadResult;
import natgw.tun.CommandResult;
import natgw.tun.Exec;
import natgw.tun.lab.JavaCommand;
import natgw.tun.lab.Lab;
import natgw.tun.lab.LabProcess;
import natgw.tun.lab.Role;

/**
 * Runs one scenario through several implementations on one lab, alternating them: in block b the implementations
 * run in the order rotated by b (A B C, B C A, C A B, ...), so slow drifts of the machine (thermal, other load)
 * spread over all of them instead of favouring the one that ran first.
 *
 * <p>Per segment: activate the implementation, check that a TCP connection gets through, run the scenario's load,
 * read the implementation's conntrack counters, deactivate. An implementation that cannot run (natgw not built,
 * nulltun missing) is reported as unavailable and the others go on.
 */
public final class BenchRunner
{
    public static final int ECHO_PORT = 7000;
    /** The echo server's first port whose connections it closes first (time-wait), and how many such ports. */
    public static final int CLOSE_FIRST_PORT = 7001;
    public static final int CLOSE_FIRST_PORTS = 64;
    public static final int UDP_SINK_PORT = 9000;

    private BenchRunner()
    {
    }

    /** System tools needed by the scenario and the implementations, plus the lab's. */
    public static List<String> requiredTools(final Scenario scenario, final List<Implementation> impls)
    {
        final Set<String> tools = new LinkedHashSet<>(List.of("ip", "bash", "timeout"));
        tools.addAll(scenario.requiredTools());
        for (final Implementation impl : impls)
        {
            tools.addAll(impl.requiredTools());
        }
        return new ArrayList<>(tools);
    }

    public static ScenarioResult run(final Scenario scenario, final List<Implementation> impls,
        final BenchContext context) throws Exception
    {
        final Instant started = Instant.now();
        final long startNs = System.nanoTime();
        final BenchOptions options = context.options();
        final Lab lab = context.lab();
        final Map<String, ImplResult> results = new LinkedHashMap<>();
        for (final Implementation impl : impls)
        {
            results.put(impl.name(), new ImplResult(impl.name(), impl.description(), impl.sameModeTun()));
        }
        final List<String> columns = ConntrackStats.procColumns(
            lab.exec(Role.GW, "cat", "/proc/net/stat/nf_conntrack").stdout());

        final LabProcess echo = startEchoServer(context);
        try
        {
            scenario.prepare(context);
            for (int block = 0; block < options.blocks; block++)
            {
                for (int i = 0; i < impls.size(); i++)
                {
                    final Implementation impl = impls.get((i + block) % impls.size());
                    final ImplResult result = results.get(impl.name());
                    if (result.unavailable() != null)
                    {
                        continue;
                    }
                    final String segment = scenario.name() + "-" + impl.name() + "-b" + (block + 1);
                    context.progress().phase(scenario.name() + " | " + impl.name() + " | block " + (block + 1) + "/" +
                        options.blocks);
                    runSegment(scenario, impl, context, result, segment, block);
                }
            }
        }
        finally
        {
            try
            {
                scenario.finish(context);
            }
            finally
            {
                echo.stop(2_000);
                context.progress().done();
            }
        }
        final Map<String, String> throughput = new LinkedHashMap<>();
        for (final ImplResult result : results.values())
        {
            throughput.put(result.name(), result.ran() ? scenario.throughputText(result) : "-");
        }
        return new ScenarioResult(scenario.name(), scenario.description(), scenario.metrics(),
            new ArrayList<>(results.values()), parameters(scenario, options, lab), columns, started,
            (System.nanoTime() - startNs) / 1e9, throughput, scenario.extraColumns(), scenario.figures(options));
    }

    private static void runSegment(final Scenario scenario, final Implementation impl, final BenchContext context,
        final ImplResult result, final String segment, final int block) throws Exception
    {
        final Implementation.Session session;
        try
        {
            session = impl.activate(context, segment);
        }
        catch (final Implementation.Unavailable e)
        {
            result.markUnavailable(e.getMessage());
            context.progress().message(impl.name() + ": not available: " + e.getMessage());
            return;
        }
        try
        {
            final String connectivity = checkConnectivity(context);
            if (connectivity != null)
            {
                result.markUnavailable("no TCP connection from client to server through " + impl.name() + ": " +
                    connectivity);
                context.progress().message(impl.name() + ": " + result.unavailable());
                return;
            }
            context.session(session);
            final LoadResult load = scenario.runSegment(context, impl.name(), segment, block, context.options().blocks);
            result.add(block, load, session.counters());
        }
        finally
        {
            context.session(null);
            session.close();
            for (final String note : session.notes())
            {
                result.note(note);
            }
        }
    }

    private static LabProcess startEchoServer(final BenchContext context) throws InterruptedException
    {
        final LabProcess echo = context.lab().start(Role.SERVER, JavaCommand.of(List.of("-Xmx256m"),
            EchoServer.class.getName(), List.of("--bind", Lab.SERVER_ADDR, "--tcp-port", String.valueOf(ECHO_PORT),
                "--close-first-port", String.valueOf(CLOSE_FIRST_PORT), "--close-first-ports", String.valueOf(CLOSE_FIRST_PORTS))),
            context.logsDir().resolve("echo-server.log"), null);
        if (!echo.awaitLine(line -> line.startsWith(EchoServer.READY), 30_000))
        {
            echo.stop(1_000);
            throw new IllegalStateException("echo server did not start in " + context.lab().ns(Role.SERVER) + ": " +
                echo.tail(5));
        }
        return echo;
    }

    /**
     * Null when a TCP connection from the client to the echo server, and to each TCP service of a DNAT scenario,
     * succeeds (3 tries each); else what failed.
     */
    static String checkConnectivity(final BenchContext context)
    {
        final List<String> targets = new ArrayList<>(List.of(Lab.SERVER_ADDR + "/" + ECHO_PORT));
        for (final LabService service : context.services())
        {
            if (service.protocol().equals("tcp"))
            {
                targets.add(service.vip() + "/" + service.port());
            }
        }
        for (final String target : targets)
        {
            final String failure = checkTcp(context, target);
            if (failure != null)
            {
                return target.replace('/', ':') + ": " + failure;
            }
        }
        return null;
    }

    private static String checkTcp(final BenchContext context, final String addressSlashPort)
    {
        String failure = null;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            final CommandResult result = context.lab().exec(Role.CLIENT, "timeout", "3", "bash", "-c",
                "exec 3<>/dev/tcp/" + addressSlashPort);
            if (result.ok())
            {
                return null;
            }
            failure = result.exitCode() == 124 ? "timed out after 3 s" : result.stderr().strip();
        }
        return failure;
    }

    private static Map<String, Object> parameters(final Scenario scenario, final BenchOptions options, final Lab lab)
    {
        final Map<String, Object> parameters = new LinkedHashMap<>();
        parameters.put("clients", lab.clients());
        parameters.put("blocks", options.blocks);
        parameters.put("threads", options.threadsOrCpus());
        switch (scenario.name())
        {
            case "connect-storm" ->
            {
                parameters.put("rounds", options.rounds);
                parameters.put("interval_ms", options.intervalMs);
                parameters.put("connections_per_impl", (long)options.rounds * lab.clients());
            }
            case "throughput" ->
            {
                parameters.put("duration_s", Math.max(1, (int)Math.ceil(options.durationS)));
                parameters.put("tcp_flows", options.flows);
                if (scenario instanceof ThroughputScenario t && t.flooderName() != null)
                {
                    parameters.put("udp_flooder", t.flooderName());
                }
                if (scenario instanceof ThroughputScenario t && t.usoSenderName() != null)
                {
                    parameters.put("uso_sender", t.usoSenderName());
                }
            }
            case "short-connections", "service-connect" ->
            {
                parameters.put("mode", options.mode);
                parameters.put("settle_s", options.settleS);
                parameters.put("duration_s", options.durationS);
                parameters.put("closed_concurrency", options.concurrency);
                parameters.put("open_rate_per_s", options.rate);
            }
            case "dns-a-aaaa" ->
            {
                parameters.put("rounds", options.rounds);
                parameters.put("interval_ms", options.intervalMs);
                parameters.put("lookups_per_impl", (long)options.rounds * lab.clients());
                parameters.put("senders", options.dnsSenders);
                parameters.put("timeout_ms", options.dnsTimeoutMs);
            }
            case "fragments" ->
            {
                parameters.put("duration_s", options.durationS);
                parameters.put("datagram_payload_bytes", options.fragmentPayload);
                parameters.put("fragments_per_datagram", FragmentsScenario.fragmentsPerDatagram(options.fragmentPayload));
            }
            case "time-wait" ->
            {
                parameters.put("duration_s", options.durationS);
                parameters.put("clients_connecting", Math.min(TimeWaitScenario.MAX_CLIENTS, lab.clients()));
                parameters.put("rate_per_s", options.rate);
                parameters.put("nat_ports", TimeWaitScenario.poolRange(options.poolPorts));
            }
            case "rollout" ->
            {
                parameters.put("duration_s", options.durationS);
                parameters.put("concurrency", options.concurrency);
                parameters.put("source_ports_per_address", options.sourcePorts);
            }
            default ->
            {
            }
        }
        if (scenario.dnat())
        {
            parameters.put("vip", Lab.VIP_ADDR);
            parameters.put("backends", options.backends);
        }
        if (options.queues > 0)
        {
            parameters.put("queues", options.queues);
        }
        if (options.tunTxqueuelen > 0)
        {
            parameters.put("tun_txqueuelen", options.tunTxqueuelen);
        }
        return parameters;
    }
}
