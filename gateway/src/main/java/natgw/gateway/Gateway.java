package natgw.gateway;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

import org.agrona.CloseHelper;
import org.agrona.ErrorHandler;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemNanoClock;

import natgw.core.conntrack.ConntrackEvents;
import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.core.fragment.FragmentTable;
import natgw.core.nat.AffinityTable;
import natgw.core.nat.BackendCounters;
import natgw.core.nat.NatAllocator;
import natgw.core.nat.ServiceAccounting;
import natgw.core.nat.Services;
import natgw.core.nat.SnatPolicy;
import natgw.core.pipeline.Pipeline;
import natgw.tun.LinkStatistics;
import natgw.tun.ThreadSlice;
import natgw.tun.TunDevice;
import natgw.tun.TunOffloads;
import natgw.tun.TunSteering;

/**
 * A running gateway: the conntrack table, one worker per TUN queue, the reaper. Host routing and the
 * control channel are wired around it by {@link GatewayHost}; this class touches no OS state and runs
 * against any {@link TunDevice}, the in-memory one included.
 */
public final class Gateway implements AutoCloseable
{
    /**
     * A sweep of the entries in use every 16 cycles of 40 ms: expiry within about 0.65 s of a deadline, with 25
     * wake-ups a second (each can preempt a worker on a busy CPU) rather than 100.
     */
    private static final int REAPER_CYCLES_PER_SWEEP = 16;

    private final GatewayConfig config;
    private final TunDevice tun;
    private final NanoClock clock;
    private final FlowState state;
    private final ConntrackTable table;
    private final SnatPolicy snat;
    private final EventBus events;
    private final Services services = new Services();
    private final BackendCounters backendCounters = new BackendCounters();
    private final AffinityTable affinity;
    private final FragmentTable fragments;
    private final List<Worker> workers = new ArrayList<>();
    private final Reaper reaper;
    private final List<AgentRunner> runners = new ArrayList<>();
    private final ErrorHandler errorHandler;

    public Gateway(final GatewayConfig config, final TunDevice tun, final NanoClock clock, final PrintStream log)
    {
        this(config.conclude(), tun, clock, log, FlowState.open(config, clock));
    }

    /** A gateway over flow state already opened (and, if attached, recovered); it closes the state. */
    Gateway(final GatewayConfig config, final TunDevice tun, final NanoClock clock, final PrintStream log, final FlowState state)
    {
        this.config = config.conclude();
        this.tun = tun;
        this.clock = clock;
        this.events = new EventBus(clock);
        this.state = state;
        state.countLive(backendCounters);
        this.table = state.table();
        this.affinity = state.affinity();
        this.snat = new SnatPolicy(config.inside(), config.pool(), config.portLow(), config.portHigh(), config.pairedPooling());
        this.errorHandler = (throwable) ->
        {
            log.println("natgw: worker error: " + throwable);
            throwable.printStackTrace(log);
        };
        for (final Services.ServiceSpec spec : config.services())
        {
            services.add(spec);
        }
        final ConntrackEvents allEvents = ConntrackEvents.both(new ServiceAccounting(backendCounters), events);
        // one table for all workers: the TUN may hand one datagram's fragments to several queues
        this.fragments = new FragmentTable(config.fragmentTrains(), config.fragmentLimit(), config.fragmentSourceLimit(),
            config.fragmentSlotLength(), config.fragmentTimeoutS() * 1000, System.nanoTime());
        // with a steering program by ports, each worker's port searches aim its connections' replies at its own
        // queue; by connections, its hints bring them there whatever the port
        final boolean byPorts = tun.steering() == TunSteering.PORTS || tun.steering() == TunSteering.FLOWS;
        for (int q = 0; q < tun.queueCount(); q++)
        {
            final WorkerCounters counters = new WorkerCounters(q);
            final NatAllocator allocator = new NatAllocator(
                table, config.portStrategy(), counters, config.raceWindowNs(), config.clashResolution(), System.nanoTime() ^ q * 0x9E37L,
                config.mapping()).steeredQueues(byPorts ? tun.queueCount() : 1, byPorts ? q : 0).flowSteering(tun.keptPortHints())
                .connectionSteering(tun.connectionHints(), q);
            final Pipeline pipeline = new Pipeline(table, allocator, snat, config.timeouts(), counters, config.verifyL4Checksums(),
                services, backendCounters, affinity, config.resetRemovedBackendFlows()).events(allEvents).filtering(config.filtering())
                .rejectFiltered(config.rejectFiltered())
                .fragments(fragments);
            workers.add(new Worker(q, tun.queue(q), pipeline, clock, tun.offloads().vnetHeader())
                .sliceNs(config.workerSliceUs() * 1000L));
        }
        if (tun.connectionHints() != null)
        {
            // connections kept across a restart: their replies back to the worker their originals go to
            tun.connectionHints().restore(table);
        }
        table.onKill(allEvents); // every ended connection: -E events and per-backend accounting
        this.reaper = new Reaper(table, clock, REAPER_CYCLES_PER_SWEEP);
    }

    public Gateway(final GatewayConfig config, final TunDevice tun, final PrintStream log)
    {
        this(config, tun, SystemNanoClock.INSTANCE, log);
    }

    /** Starts one thread per worker and one for the reaper. */
    public Gateway start()
    {
        for (final Worker worker : workers)
        {
            final int q = runners.size();
            runners.add(new AgentRunner(TunIdleStrategy.forWorker(tun.queue(q), config.idlePollMs(), config.busyPollUs() * 1000L,
                clock, worker), errorHandler, null, worker));
        }
        runners.add(new AgentRunner(Reaper.pace(), errorHandler, null, reaper));
        for (final AgentRunner runner : runners)
        {
            AgentRunner.startOnThread(runner);
        }
        return this;
    }

    /**
     * The workers' scheduler slice once their threads have started ({@link Worker#onStart}): "100 us", or the
     * kernel's default and why; waits up to {@code timeoutMs} for the threads.
     */
    public String workerSlice(final long timeoutMs)
    {
        final long deadlineNs = System.nanoTime() + timeoutMs * 1_000_000L;
        String label = null;
        for (int q = 0; q < workers.size(); q++)
        {
            ThreadSlice slice;
            while ((slice = workers.get(q).slice()) == null)
            {
                if (System.nanoTime() > deadlineNs)
                {
                    return "unknown (worker " + q + " has not started)";
                }
                Thread.onSpinWait();
                Thread.yield();
            }
            if (label == null || !slice.applied())
            {
                label = slice.label();
            }
        }
        return label == null ? "none" : label;
    }

    /** Bytes of the conntrack table the kernel backs with huge pages now. */
    public long tableHugePageBytes()
    {
        return state.hugePageBytes();
    }

    /** Where the flow state is, and what attaching to a previous gateway's found. */
    public String stateSummary()
    {
        return state.summary();
    }

    public ConntrackTable table()
    {
        return table;
    }

    /** IPv4 fragment trains and the fragments held on them, shared by the workers. */
    public FragmentTable fragments()
    {
        return fragments;
    }

    public List<Worker> workers()
    {
        return workers;
    }

    public Reaper reaper()
    {
        return reaper;
    }

    public Services services()
    {
        return services;
    }

    public BackendCounters backendCounters()
    {
        return backendCounters;
    }

    public EventBus events()
    {
        return events;
    }

    public GatewayConfig config()
    {
        return config;
    }

    /** How the TUN spreads packets over the queues. */
    public TunSteering queueSteering()
    {
        return tun.steering();
    }

    /** The offloads the TUN runs with. */
    public TunOffloads offloads()
    {
        return tun.offloads();
    }

    /** Packets the kernel could not hand to the workers (the TUN's queue was full), -1 if unknown. */
    public long tunTxDropped()
    {
        return tun instanceof natgw.tun.LinuxTun ? LinkStatistics.txDropped(tun.name()) : 0;
    }

    public NanoClock clock()
    {
        return clock;
    }

    public String poolDescription()
    {
        final StringBuilder sb = new StringBuilder();
        for (final int a : config.pool())
        {
            sb.append(sb.length() == 0 ? "" : ",").append(FlowTuple.addressToString(a));
        }
        return sb.toString();
    }

    /** Stops the threads (waking workers out of poll); the TUN device is closed by its owner. */
    public void close()
    {
        for (int q = 0; q < tun.queueCount(); q++)
        {
            tun.queue(q).wakeup();
        }
        for (final AgentRunner runner : runners)
        {
            runner.close(); // returns once its thread has left doWork
        }
        for (int q = 0; q < tun.queueCount(); q++)
        {
            tun.queue(q).wakeup();
        }
        CloseHelper.closeAll(runners);
        state.close();
    }
}
