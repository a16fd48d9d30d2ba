package natgw.gateway;

import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;

import org.agrona.concurrent.SystemNanoClock;

import natgw.core.flow.FlowTuple;
import natgw.gateway.control.ControlServer;
import natgw.gateway.control.MetricsServer;
import natgw.tun.Capabilities;
import natgw.tun.HugePageMemory;
import natgw.tun.HostNetwork;
import natgw.tun.LinuxTun;
import natgw.tun.TunSteering;

/**
 * {@code natgw run} on a real host: opens the TUN device, routes traffic into it, starts the gateway and
 * the control and metrics servers, and on exit (normal, SIGINT, SIGTERM, fatal error) stops them and
 * removes every route, rule, neighbour entry and sysctl change it made, and the TUN device if it created it.
 * <pre>
 *   inside IFACE --(ip rule iif IFACE -> table T: default dev TUN)--> TUN --> natgw --> TUN --> kernel routing
 *   outside      --(pool/32 dev TUN in main; proxy ARP on the pool's link)-------> TUN --> natgw --> TUN
 * </pre>
 */
public final class GatewayHost implements AutoCloseable
{
    /** The blackhole behind the TUN's default route: the largest metric, so the TUN's route always wins. */
    static final long FAIL_CLOSED_METRIC = 4294967295L;
    private final GatewayConfig config;
    private final PrintStream log;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private LinuxTun tun;
    private HostNetwork host;
    private HostNetwork guard;
    private Gateway gateway;
    private FlowState state;
    private EventLoopGroup group;
    private ControlServer control;
    private MetricsServer metrics;
    private Thread shutdownHook;
    private boolean closed;
    /** start() completed: only then is there a stop to report. Set by the starting thread, read by a shutdown hook. */
    private volatile boolean running;

    public GatewayHost(final GatewayConfig config, final PrintStream log)
    {
        this.config = config;
        this.log = log;
    }

    /**
     * Refuses, before anything is changed, what would otherwise fail half way through {@link #start()}: a
     * process without CAP_NET_ADMIN, a {@code --steer} interface that this network namespace does not have.
     *
     * @throws IllegalStateException    without the privilege.
     * @throws IllegalArgumentException naming the missing interface and the ones there are.
     */
    public static void preflight(final GatewayConfig config)
    {
        requirePrivileges();
        final List<String> present = HostNetwork.interfaceNames();
        for (final String iface : config.steer())
        {
            if (!present.contains(iface))
            {
                throw new IllegalArgumentException("--steer: " + noSuchInterface(iface, present));
            }
        }
    }

    /** {@code natgw run} needs CAP_NET_ADMIN for the TUN device, routes, rules and sysctls. */
    public static void requirePrivileges()
    {
        if (!Capabilities.has(Capabilities.CAP_NET_ADMIN))
        {
            throw new IllegalStateException("natgw run needs root or CAP_NET_ADMIN; run it as root (sudo)");
        }
    }

    /** "there is no interface X in this network namespace; the interfaces here: lo, eth0". */
    public static String noSuchInterface(final String iface, final List<String> present)
    {
        return "there is no interface " + iface + " in this network namespace; the interfaces here: " +
            String.join(", ", present);
    }

    public GatewayHost start()
    {
        preflight(config);
        Epoll.ensureAvailability();
        shutdownHook = new Thread(this::close, "natgw-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        try
        {
            // the warm-up runs while the host is set up; the gateway starts when both are done
            final StartupWarmup warmup = StartupWarmup.start(config);
            guard = guardRestart();
            host = HostNetwork.open(config.tun());
            // before this run changes the host: a state file written with other settings is refused, and an
            // attached one is recovered before the TUN can hand over a packet
            state = FlowState.open(config, SystemNanoClock.INSTANCE);
            log.println("natgw: flow state " + state.summary());
            tun = LinuxTun.open(config.tun(), config.queues(), config.mtu(), config.offload(), config.queueSteering(), config.pool());
            final String dev = tun.name();
            if (tun.steeringRefusal() != null)
            {
                log.println("natgw: " + tun.steeringRefusal() + (tun.steering() == TunSteering.KERNEL ?
                    "; the kernel's flow steering spreads the queues instead" : "; queue steering " + tun.steering().label() + " instead"));
            }

            if (config.tunTxQueueLength() > 0)
            {
                host.setTxQueueLength(dev, config.tunTxQueueLength());
            }
            host.setSysctl("net.ipv4.ip_forward", "1");
            host.setSysctl("net.ipv4.conf.all.rp_filter", "0");
            host.setSysctl("net.ipv4.conf." + dev + ".rp_filter", "0");
            // an ICMP error this host sends about a translated packet (fragmentation needed on the outside
            // link, host unreachable) is addressed to the pool: it comes back out of the TUN translated, with a
            // source that is one of this host's addresses, which the kernel drops as a martian unless the
            // device accepts local sources (fib_validate_source); without it, path MTU discovery through natgw fails
            host.setSysctl("net.ipv4.conf." + dev + ".accept_local", "1");
            final java.util.Set<String> proxied = new java.util.HashSet<>();
            for (final int address : config.pool())
            {
                final String ip = FlowTuple.addressToString(address);
                host.addRoute(ip + "/32", dev, 0);
                final String link = host.outsideInterfaceFor(ip);
                if (link != null && !link.equals(dev))
                {
                    if (proxied.add(link))
                    {
                        // the kernel delays proxy ARP answers by proxy_delay (0.8 s by default): the first
                        // reply to every new neighbour would wait that long
                        host.setSysctl("net.ipv4.neigh." + link + ".proxy_delay", "0");
                    }
                    host.addProxyNeighbour(ip, link);
                }
            }
            if (!config.steer().isEmpty())
            {
                host.addRoute("0.0.0.0/0", dev, config.routeTable());
                if (!config.failOpen())
                {
                    // fail closed: if natgw dies, the TUN and its route go and this drops what is steered
                    host.addBlackholeRoute("0.0.0.0/0", config.routeTable(), FAIL_CLOSED_METRIC);
                }
                for (final String iface : config.steer())
                {
                    host.setSysctl("net.ipv4.conf." + iface + ".rp_filter", "0");
                    host.addRule(iface, config.routeTable(), config.routeTable());
                }
            }

            for (final int vip : vips())
            {
                host.addRoute(FlowTuple.addressToString(vip) + "/32", dev, 0);
            }

            if (warmup != null)
            {
                log.println(warmup.await()); // before the guard goes: until the code is compiled, steered packets stay dropped
            }
            if (guard != null)
            {
                guard.undoAll(); // this run's own routes and blackhole are in
            }

            gateway = new Gateway(config, tun, SystemNanoClock.INSTANCE, log, state).start();
            group = new EpollEventLoopGroup(1);
            control = new ControlServer(gateway, group, this::routeVip);
            if (config.metricsHost() != null)
            {
                metrics = new MetricsServer(gateway, config.metricsHost(), config.metricsPort());
            }
            log.println("natgw: running on " + dev + " with " + tun.queueCount() + " queue(s), offloads " +
                tun.offloads().names() + (tun.queueCount() > 1 ? ", queue steering " + tun.steering().label() : "") + ", worker slice " +
                gateway.workerSlice(5_000) + ", pool " +
                gateway.poolDescription() + ", port strategy " + config.portStrategy().label() + ", conntrack max " +
                config.conntrackMax() + String.format(" (%.1f MiB, %.1f MiB of it in huge pages, THP mode %s)",
                gateway.table().memoryBytes() / 1048576.0, gateway.tableHugePageBytes() / 1048576.0,
                HugePageMemory.transparentHugePageMode()) + (metrics != null ? ", metrics " + metricsUrl() : ""));
            log.flush();
            running = true;
            return this;
        }
        catch (final RuntimeException | Error ex)
        {
            // undoes what was changed; says nothing of stopping what never ran: the error is the news
            close();
            throw ex;
        }
    }

    /**
     * Owner of the journal of {@link #guardRestart}'s rules; {@code natgw cleanup} undoes it with the TUN's.
     */
    public static String guardOwner(final String tun)
    {
        return tun + ".guard";
    }

    /**
     * Fail closed across a restart: opening the host network undoes what a killed run left, its blackhole
     * included, before this run has routed anything, so for that moment steered traffic would be routed on
     * untranslated (and a server that can answer inside addresses resets the very connections the state
     * file keeps). A blackhole rule ahead of the steering rule, journalled under its own owner (a crash here
     * leaves it to the next run or {@code natgw cleanup}), drops it instead until this run's routes are in.
     * Null with {@code --fail-open} or without {@code --steer}.
     */
    private HostNetwork guardRestart()
    {
        if (config.failOpen() || config.steer().isEmpty())
        {
            return null;
        }
        final HostNetwork rules = HostNetwork.open(guardOwner(config.tun()));
        try
        {
            for (final String iface : config.steer())
            {
                rules.addBlackholeRule(iface, Math.max(1, config.routeTable() - 1));
            }
        }
        catch (final RuntimeException ex)
        {
            rules.undoAll();
            throw ex;
        }
        return rules;
    }

    private String metricsUrl()
    {
        final String host = config.metricsHost().indexOf(':') >= 0 ? "[" + config.metricsHost() + "]" : config.metricsHost();
        return "http://" + host + ":" + metrics.port() + "/metrics";
    }

    private int[] vips()
    {
        return config.services().stream().mapToInt(spec -> spec.vip).distinct().toArray();
    }

    /** A VIP added at runtime is routed into the TUN like the configured ones (and unrouted on exit). */
    private void routeVip(final int vip)
    {
        host.addRoute(FlowTuple.addressToString(vip) + "/32", tun.name(), 0);
    }

    public Gateway gateway()
    {
        return gateway;
    }

    /** Blocks until {@link #close()} (from a signal's shutdown hook, or another thread). */
    public void awaitStop() throws InterruptedException
    {
        stopped.await();
    }

    public boolean awaitStop(final long timeoutMs) throws InterruptedException
    {
        return stopped.await(timeoutMs, TimeUnit.MILLISECONDS);
    }

    public synchronized void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        try
        {
            if (control != null)
            {
                control.close();
            }
            if (metrics != null)
            {
                metrics.close();
            }
            if (group != null)
            {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            }
            if (gateway != null)
            {
                gateway.close();
            }
        }
        catch (final RuntimeException ex)
        {
            log.println("natgw: error while stopping: " + ex.getMessage());
        }
        finally
        {
            if (state != null)
            {
                state.close(); // the file stays: a new run on this TUN carries its flows on
            }
            final boolean restored = (host == null || host.undoAll()) & (guard == null || guard.undoAll());
            if (tun != null)
            {
                tun.close();
            }
            if (shutdownHook != null && Thread.currentThread() != shutdownHook)
            {
                try
                {
                    Runtime.getRuntime().removeShutdownHook(shutdownHook);
                }
                catch (final IllegalStateException ignore)
                {
                    // the JVM is already shutting down
                }
            }
            if (running)
            {
                log.println(restored ? "natgw: stopped; host network restored" :
                    "natgw: stopped; some host network changes could not be undone: see the warnings above");
                log.flush();
            }
            stopped.countDown();
        }
    }
}
