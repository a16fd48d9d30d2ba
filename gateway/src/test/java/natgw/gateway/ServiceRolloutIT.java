package natgw.gateway;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

import natgw.gateway.GatewayEndToEndIT.Gateways;
import natgw.tun.lab.LabProcess;
import natgw.tun.lab.Role;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Incident 2's rollout, end to end: {@code ab -c 10}-like short connections (connect, request, read to the end,
 * close, in a loop on 10 threads) against a service of four backends while backend b4 is set to weight 0, then
 * removed with {@code natgw service del}, then its namespace deleted. Half the threads bind their source ports
 * from small rings, so new SYNs keep reusing the tuples of connections that just closed (TIME_WAIT in natgw's
 * table), the case IPVS sent to the old, draining backend. The backends report every connection they accept.
 * Each phase lasts until the other backends have served {@value #PER_PHASE} more connections. Wanted: no client
 * error, no SYN or SYN-ACK lost in natgw (IPVS's stall was a dropped SYN), and b4 serving exactly the connections
 * natgw scheduled to it before the drain, none after.
 */
@Tag("root")
class ServiceRolloutIT
{
    private static final String VIP = "10.96.0.100";
    private static final String SERVICE = "tcp:" + VIP + ":80";
    private static final String B4 = ServiceLab.backendAddress(4) + ":80";
    private static final int PER_PHASE = 300;
    private static final long PHASE_DEADLINE_NS = 120_000_000_000L;

    private final AtomicLongArray accepted = new AtomicLongArray(5);

    private long others()
    {
        return accepted.get(1) + accepted.get(2) + accepted.get(3);
    }

    private String acceptedText()
    {
        return "accepted b1..b4 [" + accepted.get(1) + ", " + accepted.get(2) + ", " + accepted.get(3) + ", " +
            accepted.get(4) + "]";
    }

    /** Lets the load run until b1..b3 have accepted {@value #PER_PHASE} more connections (and b4 one, if asked). */
    private void awaitServed(final String phase, final boolean b4Too, final LabProcess load)
    {
        final long target = others() + PER_PHASE;
        final long deadlineNs = System.nanoTime() + PHASE_DEADLINE_NS;
        while (others() < target || b4Too && accepted.get(4) == 0)
        {
            assertTrue(System.nanoTime() < deadlineNs && load.isAlive(), phase + ": the load stalled, " + acceptedText() +
                " (wanted b1..b3 at " + target + (b4Too ? ", b4 above 0" : "") + "):\n" + load.tail(30));
            ServiceLab.sleepMs(20);
        }
    }

    @Test
    void shouldDrainRemoveAndDeleteABackendWithoutErrorLossOrNewConnectionToIt() throws Exception
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
            lab.countHandshakes();
            final ServiceLab.Handshakes before = lab.handshakes();

            final Path stop = Path.of("target", lab.prefix + "-stop").toAbsolutePath();
            Files.deleteIfExists(stop);
            final LabProcess load = lab.lab.start(Role.CLIENT, ServiceLab.peer("load", VIP, "80", "10", "5", stop.toString()));
            final long scheduledToB4;
            try
            {
                assertTrue(load.awaitLine("ready"::equals, 30_000), "the load never got an answer:\n" + load.tail(30));
                awaitServed("before the rollout", true, load);

                System.out.println(System.currentTimeMillis() + " drain");
                lab.natgwOk("service", "set", SERVICE, B4, "weight", "0");
                // read once the change is in force: SYNs scheduled before it may still complete their handshake
                scheduledToB4 = lab.newConnections(VIP + ":80", B4);
                awaitServed("draining", false, load);
                assertEquals(scheduledToB4, lab.newConnections(VIP + ":80", B4), "natgw scheduled new connections to the draining b4");

                System.out.println(System.currentTimeMillis() + " remove");
                lab.natgwOk("service", "del", SERVICE, B4);
                assertFalse(lab.natgwOk("services").contains(B4), "b4 still listed after service del");
                awaitServed("removed", false, load);

                System.out.println(System.currentTimeMillis() + " delete namespace");
                lab.deleteBackend(4);
                System.out.println(System.currentTimeMillis() + " deleted");
                awaitServed("namespace deleted", false, load);
            }
            finally
            {
                Files.writeString(stop, "stop");
            }
            assertTrue(load.awaitLine("done"::equals, 60_000), "the load did not stop:\n" + load.tail(30));
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
            final ServiceLab.Handshakes through = lab.awaitHandshakesThrough(before);
            System.out.println("rollout load: " + output.replace('\n', ' ') + " | " + acceptedText() + " | " +
                through + ", " + lab.clientSynRetransmissions() + " SYN retransmissions by the client");
            assertEquals("0", summary.get("errors"), "client errors:\n" + output);
            assertEquals(through.synsIn(), through.synsOut(), "SYNs natgw lost");
            assertEquals(through.synAcksIn(), through.synAcksOut(), "SYN-ACKs natgw lost");
            final String b4Served = "b4 served exactly the connections natgw scheduled to it before the drain";
            assertEquals(scheduledToB4, accepted.get(4), b4Served + " (accepted)");
            assertEquals("b4 " + scheduledToB4, List.of(summary.get("backend").split("; ")).stream()
                .filter(b -> b.startsWith("b4 ")).findFirst().orElse("b4 0"), b4Served + " (answers the client got)");

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
