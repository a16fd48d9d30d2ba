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
    /** How long an idle worker spins (non-blocking reads) before it sleeps in poll(2). */
    public int busyPollUs = 0;
    public List<Cidr> inside = List.of();
    public int[] pool = new int[0];
    public List<String> steer = List.of();
    public int portLow = 1024;
    public int portHigh = 65535;
    public PortStrategy portStrategy = PortStrategy.RESERVE;
    public int conntrackMax = 262_144;
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
    /** 0 keeps the device's; the kernel's default for a TUN is 500 packets. */
    public int tunTxQueueLength = 5000;

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
            throw new IllegalArgumentException("--metrics-address wants HOST:PORT or off, got '" + address + "'");
        }
        if (host.isEmpty() || host.indexOf(':') >= 0 && !address.startsWith("["))
        {
            throw new IllegalArgumentException("--metrics-address wants HOST:PORT or off, got '" + address + "'" +
                (host.indexOf(':') >= 0 ? " (an IPv6 address goes in brackets: [::1]:9469)" : ""));
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

    public void validate()
    {
        if (inside.isEmpty() && services.isEmpty())
        {
            throw new IllegalArgumentException("--inside: at least one CIDR is needed (sources that get SNAT), or a --service");
        }
        if (pool.length == 0)
        {
            throw new IllegalArgumentException("--snat: the pool is empty");
        }
        if (queues < 1 || queues > 64)
        {
            throw new IllegalArgumentException("--queues must be 1..64, got " + queues);
        }
        if (conntrackMax < 16 || conntrackMax > 16 * 1024 * 1024)
        {
            throw new IllegalArgumentException("--conntrack-max must be 16..16777216, got " + conntrackMax);
        }
        if (metricsPort < 0 || metricsPort > 65535)
        {
            throw new IllegalArgumentException("--metrics-address: the port must be 0..65535, got " + metricsPort);
        }
        if (routeTable < 1 || routeTable > 0x7FFF_FFFF || routeTable == 253 || routeTable == 254 || routeTable == 255)
        {
            throw new IllegalArgumentException("--route-table must be a free table id (not 253-255), got " + routeTable);
        }
    }
}
