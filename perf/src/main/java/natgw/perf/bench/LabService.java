package natgw.perf.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A DNAT service of the lab, as every DNAT implementation is given it: {@code PROTO:VIP:PORT} and its backends
 * ({@code ADDR:PORT}), all of weight 1, scheduled round robin.
 *
 * @param protocol {@code tcp} or {@code udp}.
 * @param backends {@code ADDR:PORT}, in the order of their ids (1, 2, ...).
 */
public record LabService(String protocol, String vip, int port, List<String> backends)
{
    public LabService
    {
        if (!protocol.equals("tcp") && !protocol.equals("udp"))
        {
            throw new IllegalArgumentException("protocol must be tcp or udp, not " + protocol);
        }
        if (backends.isEmpty())
        {
            throw new IllegalArgumentException("a service needs a backend");
        }
        backends = List.copyOf(backends);
    }

    /** {@code tcp:10.77.3.10:7000}: how natgw's service commands name it. */
    public String key()
    {
        return protocol + ":" + vip + ":" + port;
    }

    /** natgw's {@code --service} value: {@code tcp:VIP:PORT=B1:P1,B2:P2,...} (scheduler rr, natgw's default). */
    public String natgwSpec()
    {
        return key() + "=" + String.join(",", backends);
    }

    /**
     * The nftables rule that DNATs this service to its backends except {@code excluded}, round robin as natgw's rr
     * ({@code numgen inc}); with no backend left, new connections are rejected, as natgw does.
     */
    public String nftRule(final Set<String> excluded)
    {
        final List<String> live = new ArrayList<>();
        for (final String backend : backends)
        {
            if (!excluded.contains(backend))
            {
                live.add(backend);
            }
        }
        final String match = "ip daddr " + vip + " " + protocol + " dport " + port;
        if (live.isEmpty())
        {
            return match + (protocol.equals("tcp") ? " reject with tcp reset" : " reject");
        }
        final StringBuilder map = new StringBuilder();
        for (int i = 0; i < live.size(); i++)
        {
            final String[] endpoint = split(live.get(i));
            map.append(i == 0 ? "" : ", ").append(i).append(" : ").append(endpoint[0]).append(" . ").append(endpoint[1]);
        }
        return match + " dnat ip to numgen inc mod " + live.size() + " map { " + map + " }";
    }

    /** Backend address of {@code ADDR:PORT}. */
    public static String address(final String endpoint)
    {
        return split(endpoint)[0];
    }

    private static String[] split(final String endpoint)
    {
        final int colon = endpoint.lastIndexOf(':');
        if (colon <= 0)
        {
            throw new IllegalArgumentException("backend must be ADDR:PORT, not " + endpoint);
        }
        return new String[] {endpoint.substring(0, colon), endpoint.substring(colon + 1)};
    }
}
