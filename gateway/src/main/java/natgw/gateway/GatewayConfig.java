package natgw.gateway;

import java.util.List;

import natgw.core.conntrack.Timeouts;
import natgw.core.nat.Cidr;
import natgw.core.nat.PortStrategy;
import natgw.core.nat.Services;

/** Everything {@code natgw run} was told, validated. */
public final class GatewayConfig
{
    public String tun = "natgw0";
    public int queues = Runtime.getRuntime().availableProcessors();
    public int mtu = 1500;
    /** Virtio-net offloads on the TUN (IFF_VNET_HDR, TUNSETOFFLOAD): GSO super-packets, partial checksums. */
    public boolean offload = true;
    /** No blackhole behind the TUN's route: steered traffic is forwarded untranslated while no gateway runs. */
    public boolean failOpen;
    /** How long an idle worker spins (non-blocking reads) before it sleeps in poll(2). */
    public int busyPollUs = 0;
    public List<Cidr> inside = List.of();
    public int[] pool = new int[0];
    public List<String> steer = List.of();
    public int portLow = 1024;
    public int portHigh = 65535;
    public PortStrategy portStrategy = PortStrategy.RESERVE;
    public int conntrackMax = 262_144;
    /** Where the flow state outlives the process (a new run on the same TUN attaches to it); null: in memory only. */
    public java.nio.file.Path stateFile;
    /** Start the state file empty, whatever a previous run left in it. */
    public boolean fresh;
    public Timeouts timeouts = new Timeouts();
    public long raceWindowNs;
    public boolean clashResolution = true;
    public boolean verifyL4Checksums = true;
    public int routeTable = 20039;
    /** Where the Prometheus exporter listens, null for nowhere (off); port 0 takes any free port. */
    public String metricsHost = "127.0.0.1";
    public int metricsPort = 9469;
    public long idlePollMs = 100;
    public List<Services.ServiceSpec> services = List.of();
    public boolean resetRemovedBackendFlows = true;
    public int warmupRounds = 20_000;
    /** natgw run's TUN queue; a longer one than the kernel's 500 rides out workers kept off the CPU. */
    public static final int DEFAULT_TUN_TX_QUEUE_LENGTH = 5000;

    /** 0 keeps the device's; the kernel's default for a TUN is 500 packets. */
    public int tunTxQueueLength = DEFAULT_TUN_TX_QUEUE_LENGTH;

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
     * Refuses a combination that cannot run, each message in the command line's words:
     * {@code --FLAG: what is wrong; what to do}.
     */
    public void validate()
    {
        if (inside.isEmpty() && services.isEmpty())
        {
            throw new IllegalArgumentException("--inside: missing; give the sources to masquerade, " +
                "e.g. --inside 172.18.0.0/16 (or a --service)");
        }
        if (pool.length == 0)
        {
            throw new IllegalArgumentException("--snat: the pool is empty; give ADDR[,ADDR...] or a CIDR");
        }
        requireRange("--queues", queues, 1, 64, "");
        requireRange("--conntrack-max", conntrackMax, 16, 16 * 1024 * 1024, "");
        requireRange("--metrics-address: the port", metricsPort, 0, 65535, "");
        if (routeTable == 253 || routeTable == 254 || routeTable == 255)
        {
            throw new IllegalArgumentException("--route-table: " + routeTable + " is one of the kernel's tables " +
                "(253 default, 254 main, 255 local); give a free one, e.g. 20039");
        }
        requireRange("--route-table", routeTable, 1, 0x7FFF_FFFF, "");
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
