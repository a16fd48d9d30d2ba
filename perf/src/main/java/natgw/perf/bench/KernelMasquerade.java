package natgw.perf.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import natgw.tun.lab.Lab;
import natgw.tun.lab.Role;

/**
 * The kernel's nftables masquerade on the outside interface, for traffic from the inside subnet, with the port
 * selection flags of the incident: none (port preservation, then a search from a tuple-derived offset),
 * {@code random} (NF_NAT_RANGE_PROTO_RANDOM) or {@code fully-random} (NF_NAT_RANGE_PROTO_RANDOM_FULLY).
 * Masquerade picks the outside interface's address, 10.77.2.1.
 */
public final class KernelMasquerade implements Implementation
{
    static final String TABLE = "natgw_bench";

    private final String name;
    private final String flags;

    public KernelMasquerade(final String name, final String flags)
    {
        this.name = name;
        this.flags = flags;
    }

    @Override
    public String name()
    {
        return name;
    }

    @Override
    public String description()
    {
        return "kernel nftables `masquerade" + (flags.isEmpty() ? "" : " " + flags) + "` (conntrack, " +
            (flags.isEmpty() ? "default port selection" : flags) + ")";
    }

    @Override
    public List<String> requiredTools()
    {
        return List.of("nft", "conntrack");
    }

    /**
     * The ruleset this implementation loads with {@code nft -f -}; with {@code natPorts} ({@code 20000-20031}, or null)
     * TCP and UDP get their source ports from that range (nftables takes a port range only after a transport match).
     */
    String ruleset(final String natPorts)
    {
        final String match = "    ip saddr " + Lab.INSIDE_CIDR + " oifname \"" + Lab.GW_OUTSIDE_IF + "\" ";
        final String options = flags.isEmpty() ? "" : " " + flags;
        return "table ip " + TABLE + " {\n" +
            "  chain postrouting {\n" +
            "    type nat hook postrouting priority srcnat; policy accept;\n" +
            (natPorts == null ? "" : match + "meta l4proto { tcp, udp } masquerade to :" + natPorts + options + "\n") +
            match + "masquerade" + options + "\n" +
            "  }\n" +
            "}\n";
    }

    @Override
    public Session activate(final BenchContext context, final String segmentName)
    {
        final Lab lab = context.lab();
        context.flushKernelConntrack();
        natgw.tun.Exec.run(lab.inNamespace(Role.GW, List.of("nft", "-f", "-")), ruleset(context.natPorts()), 30_000).orThrow();
        final Map<String, Long> baseline = context.kernelConntrackStats();
        return new Session()
        {
            @Override
            public Map<String, Long> counters()
            {
                return ConntrackStats.diff(context.kernelConntrackStats(), baseline);
            }

            @Override
            public List<String> notes()
            {
                return new ArrayList<>();
            }

            @Override
            public void close()
            {
                lab.exec(Role.GW, "nft", "delete", "table", "ip", TABLE);
                context.flushKernelConntrack();
            }
        };
    }
}
