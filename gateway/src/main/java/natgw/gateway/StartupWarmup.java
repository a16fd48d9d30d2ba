package natgw.gateway;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;

import org.agrona.concurrent.SystemNanoClock;

import natgw.core.conntrack.ConntrackEvents;
import natgw.core.nat.BackendCounters;
import natgw.core.nat.ServiceAccounting;
import natgw.core.pipeline.Warmup;

/**
 * The JIT warm-up of a starting gateway, on a thread of its own while the host is set up (state file, TUN, routes):
 * the packet path ({@link Warmup}), then a worker around it ({@link WorkerWarmup}). The gateway starts when both are
 * done, so a restart's outage is the longer of the two, not their sum.
 * <p>
 * Not done: waiting for the compiler to go quiet after the warm-up. On two CPUs it compiles for another 0.2-0.4 s,
 * and waiting for it cost a restart 180 ms (FlowSurvivalIT median 1,222 ms against 1,040) for no measured gain in
 * the connect storm.
 */
final class StartupWarmup
{
    private final FutureTask<String> task;

    private StartupWarmup(final GatewayConfig config)
    {
        task = new FutureTask<>(() -> run(config));
        final Thread thread = new Thread(task, "natgw-warmup");
        thread.setDaemon(true); // a start that fails elsewhere does not wait for it
        thread.start();
    }

    /** Starts the warm-up that {@code config} asks for ({@code --warmup-rounds}); null if none. */
    static StartupWarmup start(final GatewayConfig config)
    {
        return config.warmupRounds() > 0 ? new StartupWarmup(config) : null;
    }

    /** Waits for the warm-up to end; returns its log line, or throws what it failed with. */
    String await()
    {
        try
        {
            return task.get();
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the JIT warm-up", ex);
        }
        catch (final ExecutionException ex)
        {
            final Throwable cause = ex.getCause();
            throw cause instanceof RuntimeException ? (RuntimeException)cause : new IllegalStateException("JIT warm-up failed: " + cause, cause);
        }
    }

    private static String run(final GatewayConfig config)
    {
        final long startNs = System.nanoTime();
        // the gateway's own listener classes: the compiled path then expects what the workers call
        final ConntrackEvents events = ConntrackEvents.both(new ServiceAccounting(new BackendCounters()),
            new EventBus(SystemNanoClock.INSTANCE));
        // one thread per worker, as the workers will share the table; the rounds shared out among them
        final int threads = Math.min(config.queues(), Warmup.MAX_THREADS);
        final long packets = Warmup.run(config.portStrategy(), Math.max(1, config.warmupRounds() / threads),
            config.offload(), events, threads, (table, nowNs) -> new Reaper(table, () -> nowNs, 1).doWork());
        final long workerPackets = WorkerWarmup.run(config.portStrategy(), config.offload(), events, config.busyPollUs() * 1000L);
        return "natgw: packet path warmed up (" + packets + " synthetic packets, " + workerPackets + " through a worker, in " +
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs) + " ms)";
    }
}
