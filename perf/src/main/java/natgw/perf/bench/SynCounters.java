package natgw.perf.bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import natgw.tun.Exec;
import natgw.tun.lab.Lab;
import natgw.tun.lab.Role;

/**
 * New connections per backend, counted where every implementation's traffic leaves the gateway: an nftables
 * {@code forward} chain in the gateway namespace counts the SYNs (SYN set, ACK clear) leaving {@code go} for each
 * backend address, after whatever DNAT chose it (the kernel's prerouting DNAT and natgw's TUN both hand packets to
 * the forward path). The same ground truth for the kernel and natgw: "did a new connection reach this backend".
 */
final class SynCounters
{
    static final String TABLE = "natgw_bench_syn";
    private static final Pattern COUNTER = Pattern.compile("counter\\s+(b\\d+)\\s*\\{\\s*packets\\s+(\\d+)");

    private SynCounters()
    {
    }

    /** The table: one named counter {@code bN} per backend (N = id, 1-based). */
    static String ruleset(final List<String> backendAddresses)
    {
        final StringBuilder sb = new StringBuilder("table ip " + TABLE + " {\n");
        for (int i = 0; i < backendAddresses.size(); i++)
        {
            sb.append("  counter b").append(i + 1).append(" { }\n");
        }
        sb.append("  chain forward {\n    type filter hook forward priority filter; policy accept;\n");
        for (int i = 0; i < backendAddresses.size(); i++)
        {
            sb.append("    oifname \"").append(Lab.GW_OUTSIDE_IF).append("\" ip daddr ").append(backendAddresses.get(i))
                .append(" tcp flags & (syn | ack) == syn counter name \"b").append(i + 1).append("\"\n");
        }
        return sb.append("  }\n}\n").toString();
    }

    static void install(final Lab lab, final List<String> backendAddresses)
    {
        Exec.run(lab.inNamespace(Role.GW, List.of("nft", "-f", "-")), ruleset(backendAddresses), 30_000).orThrow();
    }

    static void remove(final Lab lab)
    {
        lab.exec(Role.GW, "nft", "delete", "table", "ip", TABLE);
    }

    /** SYNs so far per backend id (1-based). */
    static Map<Integer, Long> read(final Lab lab)
    {
        return parse(lab.exec(Role.GW, "nft", "list", "counters", "table", "ip", TABLE).orThrow().stdout());
    }

    /** Parses {@code nft list counters}: {@code counter b1 { packets 12 bytes 720 }} per backend. */
    static Map<Integer, Long> parse(final String text)
    {
        final Map<Integer, Long> counts = new LinkedHashMap<>();
        final Matcher m = COUNTER.matcher(text);
        while (m.find())
        {
            counts.put(Integer.parseInt(m.group(1).substring(1)), Long.parseLong(m.group(2)));
        }
        return counts;
    }
}
