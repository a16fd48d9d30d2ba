package natgw.perf.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import natgw.tun.lab.Lab;
import natgw.tun.lab.Role;

/**
 * Plain kernel forwarding, no NAT and no conntrack rules: the floor every NAT is compared with. The server gets a
 * route back to the inside subnet for the duration (the lab has none, so that only NAT can carry replies).
 */
public final class KernelForward implements Implementation
{
    static final String ROUTE_BACK = Lab.INSIDE_CIDR + " via " + Lab.GW_OUTSIDE_ADDR;

    @Override
    public String name()
    {
        return "kernel-forward";
    }

    @Override
    public String description()
    {
        return "kernel IPv4 forwarding, no NAT (server routes " + Lab.INSIDE_CIDR + " back via the gateway)";
    }

    @Override
    public Session activate(final BenchContext context, final String segmentName)
    {
        final Lab lab = context.lab();
        lab.exec(Role.SERVER, "ip", "route", "add", Lab.INSIDE_CIDR, "via", Lab.GW_OUTSIDE_ADDR).orThrow();
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
                lab.exec(Role.SERVER, "ip", "route", "del", Lab.INSIDE_CIDR, "via", Lab.GW_OUTSIDE_ADDR);
            }
        };
    }
}
