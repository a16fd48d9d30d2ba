package natgw.gateway;

import java.nio.file.Path;
import java.util.List;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.Timeouts;
import natgw.core.nat.Cidr;
import natgw.core.nat.EndpointDependence;
import natgw.core.nat.NatAllocator;
import natgw.core.nat.PortStrategy;
import natgw.core.nat.Services;
import natgw.tun.HostNetwork;
import natgw.tun.LinuxTun;
import natgw.tun.ThreadSlice;
import natgw.tun.TunSteering;

/**
 * Everything {@code natgw run} was told, as a context in the manner of Aeron's {@code MediaDriver.Context}: set
 * with the fluent setters, then {@link #conclude()} checks every value once, each limit taken from the class that
 * owns it ({@link LinuxTun} for the MTU and queues, {@link ConntrackTable} for the table size, {@link HostNetwork}
 * for the TUN's queue length, {@link TunIdleStrategy} for busy polling), before the gateway reads it.
 */
public final class GatewayConfig
{
    /** natgw run's TUN queue; a longer one than the kernel's 500 rides out workers kept off the CPU. */
    public static final int DEFAULT_TUN_TX_QUEUE_LENGTH = 5000;
    /** Workers, one per TUN queue. */
    public static final int MAX_QUEUES = 64;
    public static final int MIN_CONNTRACK_MAX = 16;
    public static final int MAX_WARMUP_ROUNDS = 10_000_000;
    public static final long MAX_RACE_WINDOW_NS = 1_000_000_000L;
    public static final int DEFAULT_FRAGMENT_LIMIT = 2048;
    public static final int DEFAULT_FRAGMENT_SOURCE_LIMIT = 128;
    public static final int MAX_FRAGMENT_LIMIT = 1 << 20;
    public static final int MAX_FRAGMENT_TIMEOUT_S = 3600;
    /** Bytes before a held fragment's IP header in its buffer: room for the worker's headroom. */
    public static final int FRAGMENT_HEADROOM = 64;

    /**
     * Default {@code --worker-slice-us}: the kernel's shortest slice. Measured in the lab on 2 CPUs shared with the load
     * (docs/BENCHMARKS.md): connect-storm p50 7-15 % and open-loop connect p99 6-13 % lower; a saturated closed loop
     * loses 3 % of its rate to the extra preemptions.
     */
    public static final int DEFAULT_WORKER_SLICE_US = 100;

    private String tun = "natgw0";
    private int queues = Runtime.getRuntime().availableProcessors();
    private int mtu = 1500;
    /** Virtio-net offloads on the TUN (IFF_VNET_HDR, TUNSETOFFLOAD): GSO super-packets, partial checksums. */
    private boolean offload = true;
    /** Which worker reads a packet: ports (both directions of a connection to one worker) or the kernel's flow steering. */
    private TunSteering queueSteering = TunSteering.CONNECTIONS;
    /** No blackhole behind the TUN's route: steered traffic is forwarded untranslated while no gateway runs. */
    private boolean failOpen;
    /** How long an idle worker spins (non-blocking reads) before it sleeps in poll(2). */
    private int busyPollUs = 0;
    /** The workers' scheduler slice (ThreadSlice): woken by a packet, a worker preempts sooner; 0: the kernel's. */
    private int workerSliceUs = DEFAULT_WORKER_SLICE_US;
    private List<Cidr> inside = List.of();
    private int[] pool = new int[0];
    private List<String> steer = List.of();
    private int portLow = 1024;
    private int portHigh = 65535;
    private PortStrategy portStrategy = PortStrategy.RESERVE;
    /** One pool address per inside address, whatever the destination (RFC 4787 paired pooling). */
    private boolean pairedPooling;
    /** RFC 4787 mapping behaviour; null: the port strategy's default (NatAllocator.defaultMapping). */
    private EndpointDependence mapping;
    /** RFC 4787 filtering behaviour of packets from outside to a live mapping. */
    private EndpointDependence filtering = EndpointDependence.ADDRESS_AND_PORT_DEPENDENT;
    /** Answer what the filtering refuses (TCP RST, ICMP administratively prohibited) instead of dropping it. */
    private boolean rejectFiltered;
    private int conntrackMax = 262_144;
    /** Where the flow state outlives the process (a new run on the same TUN attaches to it); null: in memory only. */
    private Path stateFile;
    /** Start the state file empty, whatever a previous run left in it. */
    private boolean fresh;
    private Timeouts timeouts = new Timeouts();
    private long raceWindowNs;
    private boolean clashResolution = true;
    private boolean verifyL4Checksums = true;
    private int routeTable = 20039;
    /** Where the Prometheus exporter listens, null for nowhere (off); port 0 takes any free port. */
    private String metricsHost = "127.0.0.1";
    private int metricsPort = 9469;
    private long idlePollMs = 100;
    private List<Services.ServiceSpec> services = List.of();
    private boolean resetRemovedBackendFlows = true;
    private int warmupRounds = 20_000;
    /** Fragments held at once waiting for their datagram's first fragment, all sources; and per source address. */
    private int fragmentLimit = DEFAULT_FRAGMENT_LIMIT;
    private int fragmentSourceLimit = DEFAULT_FRAGMENT_SOURCE_LIMIT;
    /** A fragment train's life from its first fragment of any kind (Linux: ipfrag_time). */
    private int fragmentTimeoutS = 30;
    /** 0 keeps the device's; the kernel's default for a TUN is 500 packets. */
    private int tunTxQueueLength = DEFAULT_TUN_TX_QUEUE_LENGTH;

    public String tun()
    {
        return tun;
    }

    public GatewayConfig tun(final String tun)
    {
        this.tun = tun;
        return this;
    }

    public int queues()
    {
        return queues;
    }

    public GatewayConfig queues(final int queues)
    {
        this.queues = queues;
        return this;
    }

    public int mtu()
    {
        return mtu;
    }

    public GatewayConfig mtu(final int mtu)
    {
        this.mtu = mtu;
        return this;
    }

    public boolean offload()
    {
        return offload;
    }

    public GatewayConfig offload(final boolean offload)
    {
        this.offload = offload;
        return this;
    }

    public TunSteering queueSteering()
    {
        return queueSteering;
    }

    public GatewayConfig queueSteering(final TunSteering queueSteering)
    {
        this.queueSteering = queueSteering;
        return this;
    }

    public boolean failOpen()
    {
        return failOpen;
    }

    public GatewayConfig failOpen(final boolean failOpen)
    {
        this.failOpen = failOpen;
        return this;
    }

    public int busyPollUs()
    {
        return busyPollUs;
    }

    public GatewayConfig busyPollUs(final int busyPollUs)
    {
        this.busyPollUs = busyPollUs;
        return this;
    }

    public int workerSliceUs()
    {
        return workerSliceUs;
    }

    public GatewayConfig workerSliceUs(final int workerSliceUs)
    {
        this.workerSliceUs = workerSliceUs;
        return this;
    }

    public List<Cidr> inside()
    {
        return inside;
    }

    public GatewayConfig inside(final List<Cidr> inside)
    {
        this.inside = inside;
        return this;
    }

    public int[] pool()
    {
        return pool;
    }

    public GatewayConfig pool(final int[] pool)
    {
        this.pool = pool;
        return this;
    }

    public List<String> steer()
    {
        return steer;
    }

    public GatewayConfig steer(final List<String> steer)
    {
        this.steer = steer;
        return this;
    }

    public int portLow()
    {
        return portLow;
    }

    public GatewayConfig portLow(final int portLow)
    {
        this.portLow = portLow;
        return this;
    }

    public int portHigh()
    {
        return portHigh;
    }

    public GatewayConfig portHigh(final int portHigh)
    {
        this.portHigh = portHigh;
        return this;
    }

    /** The mapping behaviour: as set, or the port strategy's default. */
    public EndpointDependence mapping()
    {
        return mapping != null ? mapping : NatAllocator.defaultMapping(portStrategy);
    }

    public GatewayConfig mapping(final EndpointDependence mapping)
    {
        this.mapping = mapping;
        return this;
    }

    public EndpointDependence filtering()
    {
        return filtering;
    }

    public GatewayConfig filtering(final EndpointDependence filtering)
    {
        this.filtering = filtering;
        return this;
    }

    public boolean rejectFiltered()
    {
        return rejectFiltered;
    }

    public GatewayConfig rejectFiltered(final boolean reject)
    {
        this.rejectFiltered = reject;
        return this;
    }

    public boolean pairedPooling()
    {
        return pairedPooling;
    }

    public GatewayConfig pairedPooling(final boolean pairedPooling)
    {
        this.pairedPooling = pairedPooling;
        return this;
    }

    public PortStrategy portStrategy()
    {
        return portStrategy;
    }

    public GatewayConfig portStrategy(final PortStrategy portStrategy)
    {
        this.portStrategy = portStrategy;
        return this;
    }

    public int conntrackMax()
    {
        return conntrackMax;
    }

    public GatewayConfig conntrackMax(final int conntrackMax)
    {
        this.conntrackMax = conntrackMax;
        return this;
    }

    public Path stateFile()
    {
        return stateFile;
    }

    public GatewayConfig stateFile(final Path stateFile)
    {
        this.stateFile = stateFile;
        return this;
    }

    public boolean fresh()
    {
        return fresh;
    }

    public GatewayConfig fresh(final boolean fresh)
    {
        this.fresh = fresh;
        return this;
    }

    public Timeouts timeouts()
    {
        return timeouts;
    }

    public GatewayConfig timeouts(final Timeouts timeouts)
    {
        this.timeouts = timeouts;
        return this;
    }

    public long raceWindowNs()
    {
        return raceWindowNs;
    }

    public GatewayConfig raceWindowNs(final long raceWindowNs)
    {
        this.raceWindowNs = raceWindowNs;
        return this;
    }

    public boolean clashResolution()
    {
        return clashResolution;
    }

    public GatewayConfig clashResolution(final boolean clashResolution)
    {
        this.clashResolution = clashResolution;
        return this;
    }

    public boolean verifyL4Checksums()
    {
        return verifyL4Checksums;
    }

    public GatewayConfig verifyL4Checksums(final boolean verifyL4Checksums)
    {
        this.verifyL4Checksums = verifyL4Checksums;
        return this;
    }

    public int routeTable()
    {
        return routeTable;
    }

    public GatewayConfig routeTable(final int routeTable)
    {
        this.routeTable = routeTable;
        return this;
    }

    public String metricsHost()
    {
        return metricsHost;
    }

    public GatewayConfig metricsHost(final String metricsHost)
    {
        this.metricsHost = metricsHost;
        return this;
    }

    public int metricsPort()
    {
        return metricsPort;
    }

    public GatewayConfig metricsPort(final int metricsPort)
    {
        this.metricsPort = metricsPort;
        return this;
    }

    public long idlePollMs()
    {
        return idlePollMs;
    }

    public GatewayConfig idlePollMs(final long idlePollMs)
    {
        this.idlePollMs = idlePollMs;
        return this;
    }

    public List<Services.ServiceSpec> services()
    {
        return services;
    }

    public GatewayConfig services(final List<Services.ServiceSpec> services)
    {
        this.services = services;
        return this;
    }

    public boolean resetRemovedBackendFlows()
    {
        return resetRemovedBackendFlows;
    }

    public GatewayConfig resetRemovedBackendFlows(final boolean resetRemovedBackendFlows)
    {
        this.resetRemovedBackendFlows = resetRemovedBackendFlows;
        return this;
    }

    public int warmupRounds()
    {
        return warmupRounds;
    }

    public GatewayConfig warmupRounds(final int warmupRounds)
    {
        this.warmupRounds = warmupRounds;
        return this;
    }

    public int fragmentLimit()
    {
        return fragmentLimit;
    }

    public GatewayConfig fragmentLimit(final int fragmentLimit)
    {
        this.fragmentLimit = fragmentLimit;
        return this;
    }

    public int fragmentSourceLimit()
    {
        return fragmentSourceLimit;
    }

    public GatewayConfig fragmentSourceLimit(final int fragmentSourceLimit)
    {
        this.fragmentSourceLimit = fragmentSourceLimit;
        return this;
    }

    public int fragmentTimeoutS()
    {
        return fragmentTimeoutS;
    }

    public GatewayConfig fragmentTimeoutS(final int fragmentTimeoutS)
    {
        this.fragmentTimeoutS = fragmentTimeoutS;
        return this;
    }

    /** Bytes of each held fragment's buffer: a fragment is at most one MTU, behind the worker's headroom. */
    public int fragmentSlotLength()
    {
        return FRAGMENT_HEADROOM + mtu;
    }

    /** Entries of the fragment table: room for trains well beyond those that hold fragments, a power of two. */
    public int fragmentTrains()
    {
        return Math.max(1024, Integer.highestOneBit(Math.max(1, fragmentLimit)) << 2);
    }

    public int tunTxQueueLength()
    {
        return tunTxQueueLength;
    }

    public GatewayConfig tunTxQueueLength(final int tunTxQueueLength)
    {
        this.tunTxQueueLength = tunTxQueueLength;
        return this;
    }

    /**
     * Sets {@link #metricsHost} and {@link #metricsPort} from {@code HOST:PORT} ({@code [V6ADDR]:PORT} for an
     * IPv6 address), or turns the exporter off for {@code off}.
     */
    public void metricsAddress(final String address)
    {
        if (address.equals("off"))
        {
            metricsHost = null;
            return;
        }
        final int colon = address.lastIndexOf(':');
        String host = colon > 0 ? address.substring(0, colon) : "";
        if (host.startsWith("[") && host.endsWith("]"))
        {
            host = host.substring(1, host.length() - 1);
        }
        final int port;
        try
        {
            port = Integer.parseInt(address.substring(colon + 1));
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException("--metrics-address: '" + address + "' is not HOST:PORT or off; " +
                "e.g. 0.0.0.0:9469 for a Prometheus server elsewhere");
        }
        if (host.isEmpty() || host.indexOf(':') >= 0 && !address.startsWith("["))
        {
            throw new IllegalArgumentException("--metrics-address: '" + address + "' is not HOST:PORT or off; " +
                (host.indexOf(':') >= 0 ? "an IPv6 address goes in brackets: [::1]:9469" :
                "e.g. 0.0.0.0:9469 for a Prometheus server elsewhere"));
        }
        metricsHost = host;
        metricsPort = port;
    }

    /** HOST:PORT as {@code --metrics-address} takes it, or off. */
    public String metricsAddress()
    {
        if (metricsHost == null)
        {
            return "off";
        }
        return (metricsHost.indexOf(':') >= 0 ? "[" + metricsHost + "]" : metricsHost) + ":" + metricsPort;
    }

    /**
     * Checks every value against its limit, and refuses a combination that cannot run, each message in the
     * command line's words: {@code --FLAG: what is wrong; what to do}.
     *
     * @return this, for the gateway to read.
     */
    public GatewayConfig conclude()
    {
        requireRange("--mtu", mtu, LinuxTun.MIN_MTU, LinuxTun.MAX_MTU, "");
        requireRange("--busy-poll-us", busyPollUs, 0, TunIdleStrategy.MAX_BUSY_POLL_US, "");
        if (workerSliceUs != 0)
        {
            requireRange("--worker-slice-us", workerSliceUs, ThreadSlice.MIN_NS / 1000, ThreadSlice.MAX_NS / 1000,
                " (the kernel's bounds of a slice), or 0 for the kernel's default");
        }
        requireRange("--warmup-rounds", warmupRounds, 0, MAX_WARMUP_ROUNDS, "");
        requireRange("--tun-txqueuelen", tunTxQueueLength, 0, HostNetwork.MAX_TX_QUEUE_LENGTH,
            " (0 keeps the device's)");
        requireRange("--race-window-ns", raceWindowNs, 0, MAX_RACE_WINDOW_NS, "");
        requireRange("--fragment-limit", fragmentLimit, 1, MAX_FRAGMENT_LIMIT, "");
        requireRange("--fragment-source-limit", fragmentSourceLimit, 1, fragmentLimit, " (at most --fragment-limit)");
        requireRange("--fragment-timeout", fragmentTimeoutS, 1, MAX_FRAGMENT_TIMEOUT_S, " seconds");
        if ((long)fragmentLimit * fragmentSlotLength() > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException("--fragment-limit: " + fragmentLimit + " fragments of up to --mtu " + mtu +
                " bytes need more than 2 GiB; give fewer, or a smaller --mtu");
        }
        if (inside.isEmpty() && services.isEmpty())
        {
            throw new IllegalArgumentException("--inside: missing; give the sources to masquerade, " +
                "e.g. --inside 172.18.0.0/16 (or a --service)");
        }
        if (pool.length == 0)
        {
            throw new IllegalArgumentException("--snat: the pool is empty; give ADDR[,ADDR...] or a CIDR");
        }
        requireRange("--queues", queues, 1, Math.min(MAX_QUEUES, LinuxTun.MAX_QUEUES), "");
        requireRange("--conntrack-max", conntrackMax, MIN_CONNTRACK_MAX, ConntrackTable.MAX_CAPACITY, "");
        requireRange("--metrics-address: the port", metricsPort, 0, 65535, "");
        if (routeTable == 253 || routeTable == 254 || routeTable == 255)
        {
            throw new IllegalArgumentException("--route-table: " + routeTable + " is one of the kernel's tables " +
                "(253 default, 254 main, 255 local); give a free one, e.g. 20039");
        }
        requireRange("--route-table", routeTable, 1, 0x7FFF_FFFF, "");
        try
        {
            NatAllocator.requireMapping(portStrategy, mapping());
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IllegalArgumentException("--mapping: " + ex.getMessage() + " (--port-strategy " + portStrategy.label() + ")");
        }
        if (filtering != EndpointDependence.ADDRESS_AND_PORT_DEPENDENT && mapping() != EndpointDependence.ENDPOINT_INDEPENDENT)
        {
            throw new IllegalArgumentException("--filtering " + filtering.label() + ": filters packets to endpoint-independent " +
                "mappings, and the mapping is " + mapping().label() + "; use --mapping endpoint-independent (reserve port " +
                "strategy) or leave --filtering at address-and-port-dependent");
        }
        return this;
    }

    /** "--FLAG: V is out of range; give LO..HI". */
    public static void requireRange(final String flag, final long value, final long low, final long high, final String note)
    {
        if (value < low || value > high)
        {
            throw new IllegalArgumentException(flag + ": " + value + " is out of range; give " + low + ".." + high + note);
        }
    }
}
