package natgw.gateway;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import natgw.tun.lab.Lab;
import natgw.tun.lab.Role;
import natgw.tun.CommandResult;
import natgw.tun.Exec;

/**
 * Everything a process can change in a network namespace's configuration, as lines to compare: every net.*
 * sysctl, IPv4 and IPv6 routes of all tables, rules, addresses, links with their details, permanent and proxy
 * neighbours, and the nftables ruleset. Traffic-driven state (link statistics, dynamic neighbours, conntrack
 * counts) is left out: it differs between two snapshots of an untouched namespace.
 */
final class NamespaceSnapshot
{
    /** Sysctls that the kernel changes by itself while traffic flows. */
    private static final Set<String> VOLATILE_SYSCTLS = Set.of(
        "net.netfilter.nf_conntrack_count",
        "net.ipv4.tcp_fastopen_key");

    private static final List<List<String>> COMMANDS = List.of(
        List.of("ip", "-d", "-o", "link", "show"),
        List.of("ip", "-o", "addr", "show"),
        List.of("ip", "rule", "show"),
        List.of("ip", "-6", "rule", "show"),
        List.of("ip", "route", "show", "table", "all"),
        List.of("ip", "-6", "route", "show", "table", "all"),
        List.of("ip", "neigh", "show", "nud", "permanent"),
        List.of("ip", "neigh", "show", "nud", "noarp"),
        List.of("ip", "neigh", "show", "proxy"),
        List.of("ip", "-6", "neigh", "show", "proxy"),
        List.of("nft", "list", "ruleset"));

    private NamespaceSnapshot()
    {
    }

    /** The configuration of {@code role}'s namespace, one line per item, sorted within each section. */
    static List<String> take(final Lab lab, final Role role) throws Exception
    {
        final List<String> lines = new ArrayList<>();
        for (final List<String> command : COMMANDS)
        {
            final CommandResult result = lab.exec(role, command.toArray(String[]::new));
            if (!result.ok())
            {
                throw new IllegalStateException("cannot snapshot the namespace: " + result);
            }
            lines.add("$ " + String.join(" ", command));
            lines.addAll(sorted(result.stdout()));
        }
        lines.add("$ sysctl -a net.*");
        // some sysctls cannot be read (stable_secret unset): sysctl says so on stderr and goes on
        final CommandResult sysctls = lab.exec(role, "sysctl", "-a", "-r", "^net\\.");
        for (final String line : sorted(sysctls.stdout()))
        {
            final int eq = line.indexOf(" = ");
            if (eq < 0 || !VOLATILE_SYSCTLS.contains(line.substring(0, eq)))
            {
                lines.add(line);
            }
        }
        if (lines.size() < 500)
        {
            throw new IllegalStateException("a namespace has hundreds of net.* sysctls; the snapshot has " +
                lines.size() + " lines: " + sysctls);
        }
        return lines;
    }

    /** The lines of {@code after} missing from {@code before} (+) and the other way round (-); empty if equal. */
    static String diff(final List<String> before, final List<String> after)
    {
        final Set<String> gone = new TreeSet<>(before);
        after.forEach(gone::remove);
        final Set<String> added = new TreeSet<>(after);
        before.forEach(added::remove);
        final StringBuilder sb = new StringBuilder();
        gone.forEach(line -> sb.append("- ").append(line).append('\n'));
        added.forEach(line -> sb.append("+ ").append(line).append('\n'));
        return sb.toString();
    }

    private static List<String> sorted(final String output)
    {
        final List<String> lines = new ArrayList<>();
        for (final String line : output.split("\n"))
        {
            if (!line.isBlank())
            {
                // link statistics and address lifetimes are not configuration
                lines.add(line.replaceAll("\\\\\\s+valid_lft.*", "").stripTrailing());
            }
        }
        lines.sort(null);
        return lines;
    }
}
