package natgw.perf.bench;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import natgw.tun.lab.Lab;
import natgw.tun.lab.Role;

/**
 * The gateway namespace's routing state (links, policy rules, routes in every table, proxy neighbour entries, nft
 * tables) as text lines, to check that an implementation left nothing behind and to undo what it did.
 */
public record GatewayState(Set<String> links, Set<String> rules, Set<String> routes, Set<String> proxyNeighbours,
    Set<String> nftTables)
{
    public static GatewayState capture(final Lab lab)
    {
        final Set<String> links = new LinkedHashSet<>();
        for (final String line : lines(lab, "ip", "-o", "link", "show"))
        {
            // "3: gi@if2: <BROADCAST,...": keep the name
            final String[] parts = line.split(":\\s+", 3);
            if (parts.length > 1)
            {
                links.add(parts[1].split("@")[0]);
            }
        }
        return new GatewayState(links,
            new LinkedHashSet<>(lines(lab, "ip", "-4", "rule", "show")),
            new LinkedHashSet<>(lines(lab, "ip", "-4", "route", "show", "table", "all")),
            new LinkedHashSet<>(lines(lab, "ip", "-4", "neigh", "show", "proxy")),
            new LinkedHashSet<>(lines(lab, "nft", "list", "tables")));
    }

    private static List<String> lines(final Lab lab, final String... command)
    {
        final List<String> lines = new ArrayList<>();
        for (final String line : lab.exec(Role.GW, command).stdout().split("\n"))
        {
            if (!line.isBlank())
            {
                lines.add(line.strip());
            }
        }
        return lines;
    }

    /** What exists now and did not in {@code before}, one description per item; empty when clean. */
    public List<String> leftoversSince(final GatewayState before)
    {
        final List<String> extra = new ArrayList<>();
        added(before.links, links, "link ", extra);
        added(before.rules, rules, "rule ", extra);
        added(before.routes, routes, "route ", extra);
        added(before.proxyNeighbours, proxyNeighbours, "proxy neighbour ", extra);
        added(before.nftTables, nftTables, "nft ", extra);
        return extra;
    }

    private static void added(final Set<String> before, final Set<String> now, final String label,
        final List<String> out)
    {
        for (final String item : now)
        {
            if (!before.contains(item))
            {
                out.add(label + item);
            }
        }
    }

    /** Removes what was added since {@code before}: links, rules, routes, proxy entries, nft tables. */
    public void restore(final Lab lab, final GatewayState before)
    {
        for (final String link : links)
        {
            if (!before.links.contains(link))
            {
                lab.exec(Role.GW, "ip", "link", "del", link);
            }
        }
        for (final String rule : rules)
        {
            if (!before.rules.contains(rule))
            {
                final String pref = rule.split(":")[0].strip();
                lab.exec(Role.GW, "ip", "-4", "rule", "del", "pref", pref);
            }
        }
        for (final String route : GatewayState.capture(lab).routes)
        {
            if (!before.routes.contains(route))
            {
                final List<String> cmd = new ArrayList<>(List.of("ip", "-4", "route", "del"));
                cmd.addAll(List.of(route.split("\\s+")));
                lab.exec(Role.GW, cmd);
            }
        }
        for (final String neighbour : proxyNeighbours)
        {
            if (!before.proxyNeighbours.contains(neighbour))
            {
                // "10.77.2.100 dev go proxy"
                final String[] parts = neighbour.split("\\s+");
                if (parts.length >= 3)
                {
                    lab.exec(Role.GW, "ip", "neigh", "del", "proxy", parts[0], "dev", parts[2]);
                }
            }
        }
        for (final String table : nftTables)
        {
            if (!before.nftTables.contains(table))
            {
                final List<String> cmd = new ArrayList<>(List.of("nft", "delete"));
                cmd.addAll(List.of(table.split("\\s+")));
                lab.exec(Role.GW, cmd);
            }
        }
    }
}
