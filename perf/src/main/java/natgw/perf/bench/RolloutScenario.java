package natgw.perf.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import natgw.perf.load.LoadResult;
import natgw.perf.load.ShortConnections;
import natgw.perf.sys.Sleep;
import natgw.tun.lab.Lab;
import natgw.tun.lab.Role;

/**
 * Incident 2: a rollout under load. Short connections (closed loop, {@code --concurrency} in flight from
 * {@code --threads} threads, reusing a small pool of source ports so that new connections reuse the tuples of closed
 * ones) go to {@code tcp:VIP:7000} with {@code --backends} backends. A quarter of the way in, the last backend is
 * drained (natgw: {@code service set ... weight 0}; kernel: taken out of the nft map); half way (at least a quarter
 * after the drain completed: natgw's command is a JVM, slow on a busy machine), it is removed (natgw:
 * {@code service del}; kernel: nothing more) and then gone (its listener stopped and its address deleted, as a
 * deleted pod's). Wanted: no client error, no slow connect, no new connection to the backend after each change.
 *
 * <p>"New connection to the backend" is counted where both kinds of gateway hand packets to the outside: SYNs
 * forwarded to the backend's address ({@link SynCounters}), read when each change has completed.
 */
public final class RolloutScenario implements Scenario
{
    static final int FIRST_SOURCE_PORT = 30000;
    static final long MIN_DURATION_MS = 3_000;

    private ServiceBackends backends;
    private LabService service;

    @Override
    public String name()
    {
        return "rollout";
    }

    @Override
    public boolean dnat()
    {
        return true;
    }

    @Override
    public String description()
    {
        return "Incident 2: short TCP connections (connect, 64-byte request, echo, RST; closed loop) to the service " +
            Lab.VIP_ADDR + ":" + ServiceBackends.TCP_PORT + " (round robin over the backends 10.77.2.11.. in the " +
            "server namespace), each client address reusing a small pool of source ports so that new connections " +
            "reuse the tuples of closed ones. At 1/4 of the segment the last backend is drained (natgw: service set " +
            "weight 0; kernel: removed from the nft map, one transaction); at 1/2 (or a quarter of the segment after " +
            "the drain completed) it is removed (natgw: service del) and gone (listener stopped, address deleted). Columns: connects of 200 ms or more; SYNs forwarded to " +
            "that backend after the drain completed, and after the removal completed (nft counters in the gateway's " +
            "forward path: the same ground truth for the kernel and natgw).";
    }

    @Override
    public List<String> defaultImpls()
    {
        return List.of("kernel-dnat", "natgw-reserve");
    }

    @Override
    public List<String> requiredTools()
    {
        return List.of("nft");
    }

    @Override
    public List<String> metrics()
    {
        return List.of("connect", "request");
    }

    @Override
    public List<ScenarioResult.Column> extraColumns()
    {
        return List.of(new ScenarioResult.Column("connects ≥200 ms", "slow"),
            new ScenarioResult.Column("new to drained", "new_to_drained_after_drain"),
            new ScenarioResult.Column("new to removed", "new_to_removed_after_removal"));
    }

    @Override
    public void prepare(final BenchContext context) throws InterruptedException
    {
        final BenchOptions options = context.options();
        if (options.backends < 2)
        {
            throw new IllegalArgumentException("rollout needs at least 2 backends (one is taken away), not " +
                options.backends);
        }
        if (options.durationS * 1000 < MIN_DURATION_MS)
        {
            throw new IllegalArgumentException("rollout needs --duration of at least " + MIN_DURATION_MS / 1000 +
                " s (drain at 1/4, removal at 1/2)");
        }
        backends = ServiceBackends.start(context, options.backends);
        service = new LabService("tcp", Lab.VIP_ADDR, ServiceBackends.TCP_PORT,
            backends.endpoints(ServiceBackends.TCP_PORT));
        context.services(List.of(service));
        final List<String> addresses = new ArrayList<>();
        for (int i = 0; i < backends.count(); i++)
        {
            addresses.add(Lab.backendAddress(i));
        }
        SynCounters.install(context.lab(), addresses);
    }

    @Override
    public LoadResult runSegment(final BenchContext context, final String impl, final String segmentName,
        final int block, final int blocks) throws Exception
    {
        if (!(context.session() instanceof Implementation.ServiceSession session))
        {
            throw new IllegalStateException(impl + " cannot change services at runtime");
        }
        final BenchOptions options = context.options();
        final Lab lab = context.lab();
        final int taken = backends.count() - 1;
        final String backend = service.backends().get(taken);
        final List<String> args = new ArrayList<>(List.of(
            "--server", Lab.VIP_ADDR,
            "--port", String.valueOf(ServiceBackends.TCP_PORT),
            "--sources", String.join(",", lab.clientAddresses()),
            "--mode", "closed",
            "--threads", String.valueOf(options.threadsOrCpus()),
            "--concurrency", String.valueOf(options.concurrency),
            "--duration-s", String.valueOf(options.durationS),
            "--slow-ms", "200"));
        if (options.sourcePorts > 0)
        {
            args.addAll(List.of("--source-ports", FIRST_SOURCE_PORT + "-" +
                (FIRST_SOURCE_PORT + Math.max(options.sourcePorts, options.threadsOrCpus()) - 1)));
        }
        final long durationMs = (long)(options.durationS * 1000);
        final List<Map<Integer, Long>> syns = new ArrayList<>();
        final LoadResult result;
        final double drainS;
        final double removeS;
        final double drainedWindowS;
        final double removedWindowS;
        try (LoadRunner.Running load = LoadRunner.start(context, Role.CLIENT, ShortConnections.class, args,
            segmentName, line -> context.progress().update(line.replace("completed=", "completed ")
                .replace("errors=", "errors "))))
        {
            if (!load.awaitLine(line -> line.equals("measuring"), 60_000))
            {
                throw new IllegalStateException("ShortConnections did not start measuring within 60 s");
            }
            final long startNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
            final long endNs = startNs + TimeUnit.MILLISECONDS.toNanos(durationMs);
            syns.add(SynCounters.read(lab));

            Sleep.until(startNs + TimeUnit.MILLISECONDS.toNanos(durationMs / 4));
            context.progress().message(impl + ": draining " + backend);
            final long drainNs = System.nanoTime();
            session.drain(service, backend);
            final long drainedNs = System.nanoTime();
            syns.add(SynCounters.read(lab));

            // the changes take their time (natgw's service command is a JVM): each phase gets a quarter at least
            Sleep.until(Math.max(startNs + TimeUnit.MILLISECONDS.toNanos(durationMs / 2),
                drainedNs + TimeUnit.MILLISECONDS.toNanos(durationMs / 4)));
            context.progress().message(impl + ": removing " + backend);
            final long removeNs = System.nanoTime();
            session.remove(service, backend);
            backends.remove(taken);
            final long removedNs = System.nanoTime();
            syns.add(SynCounters.read(lab));
            drainS = (drainedNs - drainNs) / 1e9;
            removeS = (removedNs - removeNs) / 1e9;
            drainedWindowS = (removeNs - drainedNs) / 1e9;
            removedWindowS = (endNs - removedNs) / 1e9;
            if (removedWindowS < durationMs / 8000.0)
            {
                context.progress().message(impl + ": the removal completed " + String.format(java.util.Locale.ROOT,
                    "%.1f s", removedWindowS) + " before the load ended; give a longer --duration");
            }

            result = load.await(durationMs + 60_000);
            syns.add(SynCounters.read(lab));
        }
        finally
        {
            backends.restore(taken);
        }
        synCounts(syns, taken + 1).forEach(result::count);
        result.value("drain_command_s", drainS);
        result.value("remove_command_s", removeS);
        result.value("load_while_drained_s", drainedWindowS);
        result.value("load_after_removal_s", removedWindowS);
        return result;
    }

    /**
     * From the SYN counters read at the start, when the drain completed, when the removal completed and at the end:
     * per backend and phase ({@code syn_b2_draining}), and the taken backend's after each change.
     */
    static Map<String, Long> synCounts(final List<Map<Integer, Long>> snapshots, final int takenId)
    {
        if (snapshots.size() != 4)
        {
            throw new IllegalArgumentException("4 snapshots expected (start, drained, removed, end), not " +
                snapshots.size());
        }
        final String[] phases = {"before", "draining", "removed"};
        final Map<String, Long> counts = new LinkedHashMap<>();
        for (final Integer id : snapshots.get(3).keySet())
        {
            for (int p = 0; p < phases.length; p++)
            {
                counts.put("syn_b" + id + "_" + phases[p], snapshots.get(p + 1).getOrDefault(id, 0L) -
                    snapshots.get(p).getOrDefault(id, 0L));
            }
        }
        counts.put("new_to_drained_after_drain", counts.getOrDefault("syn_b" + takenId + "_draining", 0L));
        counts.put("new_to_removed_after_removal", counts.getOrDefault("syn_b" + takenId + "_removed", 0L));
        return counts;
    }

    @Override
    public String throughputText(final ImplResult result)
    {
        final double rate = result.median("conn_per_s");
        return Double.isNaN(rate) ? "-" : String.format(java.util.Locale.ROOT, "%.0f conn/s", rate);
    }

    @Override
    public void finish(final BenchContext context)
    {
        SynCounters.remove(context.lab());
        if (backends != null)
        {
            backends.close();
            backends = null;
        }
        context.services(List.of());
    }
}
