package natgw.perf.bench;

import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import natgw.tun.CommandResult;
import natgw.tun.Exec;
import natgw.tun.lab.Lab;
import natgw.tun.lab.Role;

/**
 * Interface statistics ({@code ip -s -j link}) that tell where packets were lost outside any conntrack: the TUN's
 * {@code tx dropped} counts packets the kernel routed into the TUN but could not queue because the userspace reader
 * was behind (its queue holds txqueuelen packets, 500 by default).
 */
final class LinkStats
{
    private static final ObjectMapper JSON = new ObjectMapper();

    private LinkStats()
    {
    }

    /** {@code tun_tx_dropped} and {@code tun_rx_dropped} of the lab's TUN device; empty when it does not exist. */
    static Map<String, Long> tunDrops(final Lab lab)
    {
        final Map<String, Long> drops = new LinkedHashMap<>();
        final JsonNode stats = stats64(lab, Role.GW, Lab.TUN_NAME);
        if (stats != null)
        {
            drops.put("tun_tx_dropped", stats.path("tx").path("dropped").asLong());
            drops.put("tun_rx_dropped", stats.path("rx").path("dropped").asLong());
        }
        return drops;
    }

    /** Sets the lab TUN's queue length; 0 leaves it as it is. */
    static void setTxqueuelen(final Lab lab, final int packets)
    {
        if (packets > 0)
        {
            Exec.run("ip", "-n", lab.ns(Role.GW), "link", "set", "dev", Lab.TUN_NAME, "txqueuelen",
                String.valueOf(packets)).orThrow();
        }
    }

    static JsonNode stats64(final Lab lab, final Role role, final String itf)
    {
        final CommandResult result = Exec.run("ip", "-n", lab.ns(role), "-s", "-j", "link", "show", "dev", itf);
        if (!result.ok())
        {
            return null;
        }
        try
        {
            return JSON.readTree(result.stdout()).path(0).path("stats64");
        }
        catch (final Exception e)
        {
            return null;
        }
    }
}
