package natgw.perf.bench.behave;

import java.nio.file.Path;
import java.util.List;

import natgw.tun.Exec;
import natgw.tun.lab.Lab;
import natgw.tun.lab.Role;

/**
 * The kernel's NAT in the gateway namespace: nftables {@code masquerade} on the outside interface (the outside
 * address, 10.77.2.1), or for two pool addresses {@code snat to 10.77.2.100-10.77.2.101 persistent}, the kernel's
 * paired pooling, with both addresses on the outside interface (a proxy neighbour entry would not do: the kernel
 * answers ARP for one only when its route leaves by another interface).
 */
final class KernelTarget implements Target
{
    static final String TABLE = "natgw_behave";

    @Override
    public String name()
    {
        return "kernel";
    }

    @Override
    public String describe(final Setup setup)
    {
        return "nft `" + rule(setup) + "`";
    }

    @Override
    public String startKey(final Setup setup)
    {
        return rule(setup);
    }

    @Override
    public String externalAddress()
    {
        return Lab.GW_OUTSIDE_ADDR;
    }

    static String rule(final Setup setup)
    {
        return setup.twoPoolAddresses() ? "snat to " + Lab.POOL_ADDR + "-" + SECOND_POOL_ADDR + " persistent" :
            "masquerade";
    }

    /** The ruleset loaded with {@code nft -f -}. */
    static String ruleset(final Setup setup)
    {
        return "table ip " + TABLE + " {\n" +
            "  chain postrouting {\n" +
            "    type nat hook postrouting priority srcnat; policy accept;\n" +
            "    ip saddr " + Lab.INSIDE_CIDR + " oifname \"" + Lab.GW_OUTSIDE_IF + "\" " + rule(setup) + "\n" +
            "  }\n" +
            "}\n";
    }

    @Override
    public Session start(final Lab lab, final Setup setup, final Path logDir)
    {
        final List<String> pool = setup.twoPoolAddresses() ? List.of(Lab.POOL_ADDR, SECOND_POOL_ADDR) : List.of();
        lab.exec(Role.GW, "conntrack", "-F");
        Exec.run(lab.inNamespace(Role.GW, List.of("nft", "-f", "-")), ruleset(setup), 30_000).orThrow();
        for (final String address : pool)
        {
            lab.exec(Role.GW, "ip", "addr", "add", address + "/32", "dev", Lab.GW_OUTSIDE_IF).orThrow();
        }
        return new Session()
        {
            @Override
            public List<ConntrackEntry> connections()
            {
                return ConntrackEntry.parse(lab.exec(Role.GW, "conntrack", "-L").stdout());
            }

            @Override
            public void close()
            {
                for (final String address : pool)
                {
                    lab.exec(Role.GW, "ip", "addr", "del", address + "/32", "dev", Lab.GW_OUTSIDE_IF);
                }
                lab.exec(Role.GW, "nft", "delete", "table", "ip", TABLE);
                lab.exec(Role.GW, "conntrack", "-F");
            }
        };
    }
}
