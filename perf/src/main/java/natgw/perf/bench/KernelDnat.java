package natgw.perf.bench;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import natgw.tun.Exec;
import natgw.tun.lab.Lab;
import natgw.tun.lab.Role;

/**
 * The kernel's DNAT for the lab's services, as kube-proxy's nftables mode builds it: in prerouting, each VIP:port is
 * DNATed round robin to its backends ({@code numgen inc mod N map}), and everything leaving on {@code go} is
 * masqueraded (the backends see the gateway's address and answer through it, as natgw's SNAT+DNAT does):
 * <pre>
 * table ip natgw_bench {
 *   chain prerouting  { type nat hook prerouting priority dstnat; ip daddr VIP tcp dport P
 *                       dnat ip to numgen inc mod 3 map { 0 : B1 . P, 1 : B2 . P, 2 : B3 . P } }
 *   chain postrouting { type nat hook postrouting priority srcnat; oifname "go" masquerade }
 * }
 * </pre>
 * Draining a backend replaces the service's rule by one without it, in one nft transaction (established
 * connections keep their conntrack entry and go on); removing it changes nothing more in the gateway.
 */
public final class KernelDnat implements Implementation
{
    static final String TABLE = KernelMasquerade.TABLE;

    @Override
    public String name()
    {
        return "kernel-dnat";
    }

    @Override
    public String description()
    {
        return "kernel nftables `dnat ip to numgen inc mod N map {...}` per service + `oifname \"go\" masquerade` " +
            "(conntrack, default port selection)";
    }

    @Override
    public List<String> requiredTools()
    {
        return List.of("nft", "conntrack");
    }

    /** The whole table for these services, leaving out the {@code excluded} backends. */
    static String ruleset(final List<LabService> services, final Set<String> excluded)
    {
        final StringBuilder sb = new StringBuilder("table ip " + TABLE + " {\n");
        sb.append("  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n");
        for (final LabService service : services)
        {
            sb.append("    ").append(service.nftRule(excluded)).append('\n');
        }
        sb.append("  }\n  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n")
            .append("    oifname \"").append(Lab.GW_OUTSIDE_IF).append("\" masquerade\n  }\n}\n");
        return sb.toString();
    }

    /** One transaction that replaces the service rules (the chain is flushed and refilled atomically). */
    static String replaceServiceRules(final List<LabService> services, final Set<String> excluded)
    {
        final StringBuilder sb = new StringBuilder("flush chain ip " + TABLE + " prerouting\n");
        for (final LabService service : services)
        {
            sb.append("add rule ip ").append(TABLE).append(" prerouting ").append(service.nftRule(excluded)).append('\n');
        }
        return sb.toString();
    }

    @Override
    public Session activate(final BenchContext context, final String segmentName)
    {
        final Lab lab = context.lab();
        final List<LabService> services = context.services();
        context.flushKernelConntrack();
        nft(lab, ruleset(services, Set.of()));
        final Map<String, Long> baseline = context.kernelConntrackStats();
        final Set<String> excluded = new HashSet<>();
        return new ServiceSession()
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
            public synchronized void drain(final LabService service, final String backend)
            {
                excluded.add(backend);
                nft(lab, replaceServiceRules(services, excluded));
            }

            @Override
            public synchronized void remove(final LabService service, final String backend)
            {
                // already out of the map: the gateway has nothing more to forget
                drain(service, backend);
            }

            @Override
            public void close()
            {
                lab.exec(Role.GW, "nft", "delete", "table", "ip", TABLE);
                context.flushKernelConntrack();
            }
        };
    }

    private static void nft(final Lab lab, final String commands)
    {
        Exec.run(lab.inNamespace(Role.GW, List.of("nft", "-f", "-")), commands, 30_000).orThrow();
    }
}
