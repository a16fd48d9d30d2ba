package natgw.perf.bench.behave;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What the suite reads from traceroute, tracepath and tcpdump output. */
final class ToolOutput
{
    private static final Pattern TRACEROUTE_HOP = Pattern.compile("^\\s*(\\d+)\\s+(\\S+)");
    private static final Pattern TRACEPATH_HOP = Pattern.compile("^\\s*(\\d+):\\s+(\\S+)");
    private static final Pattern TRACEPATH_RESUME = Pattern.compile("Resume: pmtu \\d+ hops (\\d+) back (\\d+)");
    private static final Pattern ECHO_REQUEST = Pattern.compile(
        "IP (\\S+) > (\\S+): ICMP echo request, id (\\d+), seq (\\d+)");

    private ToolOutput()
    {
    }

    /**
     * The hops of {@code traceroute -n -q 1}: one per TTL, the address that answered or {@code *}.
     */
    static List<String> tracerouteHops(final String output)
    {
        final List<String> hops = new ArrayList<>();
        for (final String line : output.split("\n"))
        {
            final Matcher m = TRACEROUTE_HOP.matcher(line);
            if (m.find())
            {
                hops.add(m.group(2));
            }
        }
        return hops;
    }

    /**
     * The hops of {@code tracepath -n}: per TTL the first address that answered ({@code *} for "no reply"), without
     * the {@code 1?: [LOCALHOST]} line.
     */
    static List<String> tracepathHops(final String output)
    {
        final Map<Integer, String> hops = new LinkedHashMap<>();
        for (final String line : output.split("\n"))
        {
            final Matcher m = TRACEPATH_HOP.matcher(line);
            if (m.find())
            {
                final int ttl = Integer.parseInt(m.group(1));
                final String address = m.group(2).equals("no") ? "*" : m.group(2);
                if (!hops.containsKey(ttl) || hops.get(ttl).equals("*"))
                {
                    hops.put(ttl, address);
                }
            }
        }
        return new ArrayList<>(hops.values());
    }

    /** {@code hops H} of tracepath's {@code Resume:} line: the hops to the destination, or -1 when not reached. */
    static int tracepathReachedHops(final String output)
    {
        final Matcher m = TRACEPATH_RESUME.matcher(output);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    /** An ICMP echo request as {@code tcpdump -n} prints it. */
    record EchoRequest(String src, String dst, int id, int seq)
    {
    }

    /** The echo requests of {@code tcpdump -n -l} lines. */
    static List<EchoRequest> echoRequests(final List<String> lines)
    {
        final List<EchoRequest> requests = new ArrayList<>();
        for (final String line : lines)
        {
            final Matcher m = ECHO_REQUEST.matcher(line);
            if (m.find())
            {
                requests.add(new EchoRequest(m.group(1), m.group(2), Integer.parseInt(m.group(3)),
                    Integer.parseInt(m.group(4))));
            }
        }
        return requests;
    }
}
