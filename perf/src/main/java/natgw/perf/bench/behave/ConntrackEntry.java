package natgw.perf.bench.behave;

import java.util.ArrayList;
import java.util.List;

/**
 * One line of a {@code conntrack -L} listing, the kernel's (conntrack-tools) or natgw's (the same format): protocol,
 * seconds left, TCP state and the original direction's tuple.
 *
 * @param timeoutS seconds left before the connection expires, as listed (rounded down).
 * @param state    the TCP state, or "" for UDP and ICMP.
 * @param sport    the original source port, or for ICMP the query id.
 * @param dport    the original destination port, or 0 for ICMP.
 */
record ConntrackEntry(String proto, long timeoutS, String state, String src, String dst, int sport, int dport,
    boolean assured)
{
    /** The entries of a listing; lines that are not entries (conntrack-tools' summary on stderr) are skipped. */
    static List<ConntrackEntry> parse(final String listing)
    {
        final List<ConntrackEntry> entries = new ArrayList<>();
        for (final String line : listing.split("\n"))
        {
            final String[] t = line.strip().split("\\s+");
            if (t.length < 6 || !t[1].matches("\\d+") || !t[2].matches("\\d+"))
            {
                continue;
            }
            final String state = t[3].contains("=") ? "" : t[3];
            entries.add(new ConntrackEntry(t[0], Long.parseLong(t[2]), state, first(t, "src="), first(t, "dst="),
                Integer.parseInt(orElse(first(t, "sport="), first(t, "id="))),
                Integer.parseInt(orElse(first(t, "dport="), "0")), line.contains("[ASSURED]")));
        }
        return entries;
    }

    private static String first(final String[] tokens, final String key)
    {
        for (final String token : tokens)
        {
            if (token.startsWith(key))
            {
                return token.substring(key.length());
            }
        }
        return "";
    }

    private static String orElse(final String value, final String fallback)
    {
        return value.isEmpty() ? fallback : value;
    }

    /** The first entry of {@code proto} whose original tuple is from {@code src} (and to {@code dport} unless 0). */
    static ConntrackEntry find(final List<ConntrackEntry> entries, final String proto, final String src,
        final int dport)
    {
        for (final ConntrackEntry e : entries)
        {
            if (e.proto().equals(proto) && e.src().equals(src) && (dport == 0 || e.dport() == dport))
            {
                return e;
            }
        }
        return null;
    }
}
