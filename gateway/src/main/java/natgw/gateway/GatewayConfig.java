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
    public int metricsPort = 9469;
    public String metricsAddress = "127.0.0.1";
    public long idlePollMs = 100;
    public List<Services.ServiceSpec> services = List.of();
    public boolean resetRemovedBackendFlows = true;
    public int warmupRounds = 20_000;
    /** 0 keeps the device's; the kernel's default for a TUN is 500 packets. */
    public int tunTxQueueLength = 5000;

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
            throw new IllegalArgumentException("--metrics-port must be 0..65535 (0 = off), got " + metricsPort);
        }
        if (routeTable < 1 || routeTable > 0x7FFF_FFFF || routeTable == 253 || routeTable == 254 || routeTable == 255)
        {
            throw new IllegalArgumentException("--route-table must be a free table id (not 253-255), got " + routeTable);
        }
    }
}
