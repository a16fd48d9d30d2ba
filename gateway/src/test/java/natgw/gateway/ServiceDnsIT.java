package natgw.gateway;

import java.util.HashMap;
import java.util.Map;

import natgw.gateway.GatewayEndToEndIT.Gateways;
import natgw.tun.CommandResult;
import natgw.tun.Exec;
import natgw.tun.lab.Lab;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Incident 4, end to end: a DNS-like service on a VIP (round robin over two responders in backend namespaces),
 * natgw with two queues (two workers), and clients doing what musl does: one UDP socket, the A and the AAAA
 * query sent back to back, then waiting for both. Thousands of rounds from four client addresses at once; every
 * query must be answered (the wait, 10 s, only bounds a lost one: how fast a busy machine answers is not the
 * question), both answers of a round must come from the same backend (one translation), and natgw must drop
 * nothing.
 * <p>
 * The kernel's TUN puts the packets of one flow on one queue (automq flow steering), so here the two datagrams
 * of a round usually meet in one worker; the two-workers-one-flow race itself is driven deterministically in
 * natcore's PipelineServiceTest (several pipelines, one table, a spin barrier, adoption counted).
 */
@Tag("root")
class ServiceDnsIT
{
    private static final String VIP = "10.96.0.53";
    private static final int ROUNDS = 2500;
    private static final int CLIENTS = 4;

    @Test
    void shouldAnswerEveryConcurrentAAndAaaaQueryWithoutRetry() throws Exception
    {
        try (ServiceLab lab = ServiceLab.up("ngwd", CLIENTS, 2))
        {
            lab.startBackend(1, "-", "53", null);
            lab.startBackend(2, "-", "53", null);
            lab.startNatgw("--service", "udp:" + VIP + ":53/rr=" + ServiceLab.backendAddress(1) + ":53," +
                ServiceLab.backendAddress(2) + ":53");
            final StringBuilder sources = new StringBuilder();
            for (int i = 0; i < CLIENTS; i++)
            {
                sources.append(i > 0 ? "," : "").append(Lab.clientAddress(i));
            }
            final CommandResult result = lab.inClient(ServiceLab.peer("dns-ask", VIP, "53", String.valueOf(ROUNDS), sources.toString(), "10000"));
            assertEquals(0, result.exitCode(), result.toString());
            final Map<String, String> summary = new HashMap<>();
            for (final String line : result.stdout().split("\n"))
            {
                final int space = line.indexOf(' ');
                if (space > 0)
                {
                    summary.merge(line.substring(0, space), line.substring(space + 1), (a, b) -> a + "; " + b);
                }
            }
            final String out = result.stdout();
            final Map<String, Long> drops = Gateways.drops(lab.lab);
            final Map<String, Long> stats = lab.conntrackStats();
            System.out.println("dns: " + out.replace('\n', ' ') + "| natgw conntrack -S: " + stats);
            final long rounds = (long)ROUNDS * CLIENTS;
            assertEquals(String.valueOf(rounds), summary.get("rounds"), out);
            assertEquals("0", summary.get("timeouts"), "queries never answered (lost):\n" + out);
            assertEquals(String.valueOf(2 * rounds), summary.get("answered"), out);
            assertEquals("0", summary.get("split"), "the A and the AAAA of one socket reached two backends:\n" + out);
            assertEquals("0", summary.get("wrong"), out);
            assertTrue(summary.getOrDefault("backend", "").contains("b1") && summary.get("backend").contains("b2"),
                "rr spreads sockets over both backends: " + out);
            assertEquals(0L, drops.values().stream().mapToLong(Long::longValue).sum(), "natgw dropped packets: " + drops);
            assertEquals(0L, stats.getOrDefault("insert_failed", 0L), stats.toString());
        }
    }
}
