package natgw.gateway;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import natgw.gateway.GatewayEndToEndIT.Gateways;
import natgw.perf.lab.LabProcess;
import natgw.perf.lab.Role;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Incident 2's rollout, end to end: {@code ab -c 10}-like short connections (connect, request, read to the end,
 * close, in a loop on 10 threads) against a service of four backends while backend b4 is set to weight 0, then
 * removed with {@code natgw service del}, then its namespace deleted. Half the threads bind their source ports
 * from small rings, so new SYNs keep reusing the tuples of connections that just closed (TIME_WAIT in natgw's
 * table), the case IPVS sent to the old, draining backend. The backends report every connection they accept.
 * Wanted: no client error, no connect slower than 200 ms, and no connection accepted by b4 once it drains.
 */
@Tag("root")
class ServiceRolloutIT
{
    private static final String VIP = "10.96.0.100";
    private static final String SERVICE = "tcp:" + VIP + ":80";
    private static final String B4 = ServiceLab.backendAddress(4) + ":80";
    private static final long SETTLE_MS = 300;

    private final AtomicLongArray accepted = new AtomicLongArray(5);

    private long others()
    {
        return accepted.get(1) + accepted.get(2) + accepted.get(3);
    }

    /** Lets the load run for {@code ms}; asserts the other backends kept taking connections meanwhile. */
    private void run(final long ms, final String phase)
    {
        final long before = others();
        ServiceLab.sleepMs(ms);
        assertTrue(others() - before > 50, phase + ": the load stalled (" + (others() - before) + " connections in " + ms + " ms)");
    }

    @Test
    void shouldDrainRemoveAndDeleteABackendWithoutErrorStallOrNewConnectionToIt() throws Exception
    {
        try (ServiceLab lab = ServiceLab.up("ngwr", 1, 4))
        {
            for (int b = 1; b <= 4; b++)
            {
                final int backend = b;
                lab.startBackend(b, "80", "-", line ->
                {
                    if (line.startsWith("accept "))
                    {
                        accepted.incrementAndGet(backend);
                    }
                });
            }
            final StringBuilder spec = new StringBuilder(SERVICE + "/rr=");
            for (int b = 1; b <= 4; b++)
            {
                spec.append(b > 1 ? "," : "").append(ServiceLab.backendAddress(b)).append(":80");
            }
            lab.startNatgw("--service", spec.toString());

            final Path stop = Path.of("target", lab.prefix + "-stop").toAbsolutePath();
            Files.deleteIfExists(stop);
            final LabProcess load = lab.lab.start(Role.CLIENT, ServiceLab.peer("load", VIP, "80", "10", "5", stop.toString()));
            try
            {
                assertTrue(load.awaitLine("ready"::equals, 30_000), "the load never got an answer:\n" + load.tail(30));
                run(1500, "before the rollout");
                assertTrue(accepted.get(4) > 0, "b4 served before it was drained");

                System.out.println(System.currentTimeMillis() + " drain");
                lab.natgwOk("service", "set", SERVICE, B4, "weight", "0");
                ServiceLab.sleepMs(SETTLE_MS); // SYNs scheduled before the change complete their handshake
                final long drainedAt = accepted.get(4);
                run(1500, "draining");
                assertEquals(drainedAt, accepted.get(4), "the draining backend accepted new connections");

                System.out.println(System.currentTimeMillis() + " remove");
                lab.natgwOk("service", "del", SERVICE, B4);
                assertFalse(lab.natgwOk("services").contains(B4), "b4 still listed after service del");
                run(1000, "removed");
                assertEquals(drainedAt, accepted.get(4), "the removed backend accepted new connections");

                System.out.println(System.currentTimeMillis() + " delete namespace");
                lab.deleteBackend(4);
                System.out.println(System.currentTimeMillis() + " deleted");
                run(1500, "namespace deleted");
            }
            finally
            {
                Files.writeString(stop, "stop");
            }
            assertTrue(load.awaitLine("done"::equals, 30_000), "the load did not stop:\n" + load.tail(30));
            final Map<String, String> summary = new HashMap<>();
            for (final String line : load.lines())
            {
                final int space = line.indexOf(' ');
                if (space > 0)
                {
                    summary.merge(line.substring(0, space), line.substring(space + 1), (a, b) -> a + "; " + b);
                }
            }
            final String output = load.output();
            System.out.println("rollout load: " + output.replace('\n', ' ') + " | accepted b1..b4 " + accepted);
            assertEquals("0", summary.get("errors"), "client errors:\n" + output);
            assertEquals("0", summary.get("slow-connects"), "connects slower than 200 ms:\n" + output);
            assertTrue(Double.parseDouble(summary.get("max-connect-ms")) < 200, output);
            assertTrue(Long.parseLong(summary.get("requests")) > 1000, output);

            final Map<String, Long> stats = lab.conntrackStats();
            System.out.println("rollout conntrack -S: " + stats);
            assertTrue(stats.getOrDefault("reopened", 0L) > 0, "no SYN reused a closed connection's tuple: " + stats);
            assertEquals(0L, stats.getOrDefault("insert_failed", 0L), stats.toString());
            assertEquals(0L, Gateways.drops(lab.lab).values().stream().mapToLong(Long::longValue).sum(),
                "natgw dropped packets: " + Gateways.drops(lab.lab));
            load.stop(2000);
        }
    }
}
