package natgw.perf.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import natgw.tun.CommandResult;
import natgw.tun.Exec;
import natgw.tun.lab.Lab;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Short bench runs through the shipped jar: a connect-storm through the kernel's masquerade and natgw (reserve), and
 * incident 4's A+AAAA lookups through the kernel's DNAT and natgw's service (reserve). The reports have both rows
 * with plausible values, and nothing is left behind.
 */
@Tag("root")
class BenchCommandIT
{
    static final int ROUNDS = 10;
    static final int CLIENTS = 8;
    static final int STORM_ROUNDS = 25;
    static final int STORM_CLIENTS = 40;

    private String prefix;

    @BeforeEach
    void setUp()
    {
        CliProcess.requireRoot();
        prefix = "ngwb" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xFFFF));
    }

    @AfterEach
    void nothingLeftBehind()
    {
        final List<String> left = Lab.existingNamespaces(prefix);
        Lab.down(prefix);
        assertEquals(List.of(), left, "bench must remove its lab");
    }

    @Test
    void shouldReportKernelAndNatgwSideBySide(@TempDir final Path out) throws Exception
    {
        final CommandResult bench = CliProcess.run(300_000, "bench", "connect-storm",
            "--impl", "kernel-masq,natgw-reserve", "--rounds", String.valueOf(ROUNDS), "--blocks", "2",
            "--clients", String.valueOf(CLIENTS), "--prefix", prefix, "--out", out.toString(), "--no-install");
        assertEquals(0, bench.exitCode(), bench.stdout() + bench.stderr());
        assertTrue(bench.stdout().contains("report: " + out.resolve("report.html")), bench.stdout());

        final JsonNode scenario = new ObjectMapper().readTree(out.resolve("summary.json").toFile())
            .path("scenarios").path(0);
        assertEquals("connect-storm", scenario.path("scenario").asText());
        final JsonNode kernel = scenario.path("impls").path(0);
        final JsonNode natgw = scenario.path("impls").path(1);
        assertEquals("kernel-masq", kernel.path("name").asText());
        assertEquals("natgw-reserve", natgw.path("name").asText());
        for (final JsonNode impl : List.of(kernel, natgw))
        {
            final String name = impl.path("name").asText();
            assertTrue(impl.path("ran").asBoolean(), name + ": " + impl.path("unavailable").asText());
            assertEquals(ROUNDS * CLIENTS, impl.path("counts").path("attempted").asLong(), name);
            assertEquals(ROUNDS * CLIENTS, impl.path("counts").path("completed").asLong(), name);
            assertEquals(0, impl.path("counts").path("errors").asLong(), name);
            final JsonNode connect = impl.path("latency_us").path("connect");
            assertEquals(ROUNDS * CLIENTS, connect.path("count").asLong(), name);
            assertTrue(connect.path("p50Us").asDouble() > 1 && connect.path("p50Us").asDouble() < 1_000_000,
                name + " median connect " + connect.path("p50Us"));
            assertTrue(connect.path("maxUs").asDouble() < 10_000_000, name + " max connect " + connect.path("maxUs"));
            assertTrue(impl.path("conntrack").has("insert_failed"), name + ": conntrack counters read");
            assertEquals(2, impl.path("segments").size(), name + ": one segment per block");
            for (final JsonNode note : impl.path("notes"))
            {
                assertFalse(note.asText().contains("left behind"), name + ": " + note.asText());
            }
            assertTrue(Files.exists(out.resolve("connect-storm." + name + ".connect.hgrm")), name);
        }
        assertTrue(kernel.path("conntrack").path("found").asLong() > 0, "the kernel's conntrack saw the storm");
        assertTrue(natgw.path("conntrack").path("insert").asLong() >= ROUNDS * CLIENTS,
            "natgw inserted every connection: " + natgw.path("conntrack"));
        assertEquals(0, natgw.path("conntrack").path("insert_failed").asLong(), "reserve never fails an insert");
        assertEquals(0, natgw.path("conntrack").path("drop").asLong());

        final String html = Files.readString(out.resolve("report.html"));
        assertTrue(html.contains("<svg "), "percentile plot");
        assertTrue(html.contains("<tr data-impl=\"kernel-masq\">") && html.contains("<tr data-impl=\"natgw-reserve\">"));
        final String md = Files.readString(out.resolve("report.md"));
        assertTrue(md.contains("| kernel-masq | " + ROUNDS * CLIENTS + " |"), md);
        assertTrue(md.contains("| natgw-reserve | " + ROUNDS * CLIENTS + " |"), md);
    }

    @Test
    void shouldAnswerEveryLookupThroughNatgwReserveAndReportTheKernelDnatNextToIt(@TempDir final Path out)
        throws Exception
    {
        // a lookup ends when both answers are in: the long wait costs nothing, and a lost answer stays lost however
        // long it is waited for, while a busy machine's slow one is not taken for lost or late
        final CommandResult bench = CliProcess.run(300_000, "bench", "dns-a-aaaa",
            "--impl", "kernel-dnat,natgw-reserve", "--rounds", String.valueOf(ROUNDS), "--blocks", "1",
            "--clients", String.valueOf(CLIENTS), "--dns-timeout-ms", "30000", "--prefix", prefix, "--out", out.toString(),
            "--no-install");
        assertEquals(0, bench.exitCode(), bench.stdout() + bench.stderr());

        final JsonNode scenario = new ObjectMapper().readTree(out.resolve("summary.json").toFile())
            .path("scenarios").path(0);
        assertEquals("dns-a-aaaa", scenario.path("scenario").asText());
        final JsonNode kernel = scenario.path("impls").path(0);
        final JsonNode natgw = scenario.path("impls").path(1);
        assertEquals("kernel-dnat", kernel.path("name").asText());
        assertEquals("natgw-reserve", natgw.path("name").asText());
        for (final JsonNode impl : List.of(kernel, natgw))
        {
            final String name = impl.path("name").asText();
            assertTrue(impl.path("ran").asBoolean(), name + ": " + impl.path("unavailable").asText());
            assertEquals(ROUNDS * CLIENTS, impl.path("counts").path("lookups").asLong(), name);
            assertEquals(0, impl.path("counts").path("errors").asLong(), name);
            assertTrue(impl.path("latency_us").path("lookup").path("count").asLong() > 0, name);
            assertTrue(impl.path("conntrack").has("insert_failed"), name + ": conntrack counters read");
            for (final JsonNode note : impl.path("notes"))
            {
                assertFalse(note.asText().contains("left behind"), name + ": " + note.asText());
            }
            assertTrue(Files.exists(out.resolve("dns-a-aaaa." + name + ".lookup.hgrm")), name);
        }
        final JsonNode counts = natgw.path("counts");
        assertEquals(0, counts.path("lost").asLong(), "natgw reserve loses no answer: " + counts);
        assertEquals(0, counts.path("late").asLong(), "natgw reserve: no answer after the resolver's timeout");
        assertNoPacketLost(natgw);
        assertEquals(0, counts.path("split").asLong(), "natgw reserve: both queries of a lookup to one backend");
        assertTrue(counts.has("strays"), counts.toString());
        assertEquals(0, counts.path("strays").asLong(), "every answer reached its own lookup's socket");
        assertEquals(2L * ROUNDS * CLIENTS, counts.path("answered").asLong());
        assertEquals(ROUNDS * CLIENTS, natgw.path("latency_us").path("lookup").path("count").asLong());
        assertEquals(0, natgw.path("conntrack").path("insert_failed").asLong());
        assertTrue(kernel.path("conntrack").has("clash_resolve"), "the kernel's clash counter read: " +
            kernel.path("conntrack"));

        final String md = Files.readString(out.resolve("report.md"));
        assertTrue(md.contains("| lost | late | split |"), md);
        assertTrue(md.contains("| kernel-dnat | " + ROUNDS * CLIENTS + " |"), md);
        assertTrue(md.contains("| natgw-reserve | " + ROUNDS * CLIENTS + " |"), md);
    }

    /**
     * Incident 1's storm through the kernel's masquerade, natgw {@code kernel} and natgw {@code reserve} in one
     * run: 40 client addresses connect to one server port from the same source port at the same instant, round
     * after round. natgw reserve must never stall a connect for a dropped SYN and never fail an insert; the
     * other two are reported beside it, whatever they show.
     */
    @Test
    void shouldNeverStallOrFailAnInsertWithReserveWhereTheKernelStrategiesMay(@TempDir final Path out) throws Exception
    {
        final CommandResult bench = CliProcess.run(600_000, "bench", "connect-storm",
            "--impl", "kernel-masq,natgw-kernel,natgw-reserve,natgw-reserve-flows", "--rounds", String.valueOf(STORM_ROUNDS),
            "--blocks", "2", "--clients", String.valueOf(STORM_CLIENTS), "--prefix", prefix, "--out", out.toString(), "--no-install");
        assertEquals(0, bench.exitCode(), bench.stdout() + bench.stderr());
        System.out.println(bench.stdout()); // the side-by-side table, for the CI log

        final JsonNode impls = new ObjectMapper().readTree(out.resolve("summary.json").toFile())
            .path("scenarios").path(0).path("impls");
        assertEquals(4, impls.size(), "four implementations side by side");
        int reserves = 0;
        for (final JsonNode impl : impls)
        {
            final String name = impl.path("name").asText();
            assertTrue(impl.path("ran").asBoolean(), name + ": " + impl.path("unavailable").asText());
            assertEquals(STORM_ROUNDS * STORM_CLIENTS, impl.path("counts").path("attempted").asLong(), name);
            assertTrue(impl.path("conntrack").has("insert_failed"), name + ": insert_failed read");
            if (name.startsWith("natgw-reserve"))
            {
                // with either steering program: each queue of the storm's one source port reached its worker
                reserves++;
                assertEquals(STORM_ROUNDS * STORM_CLIENTS, impl.path("counts").path("completed").asLong(), name + ": every connect");
                assertEquals(0, impl.path("counts").path("errors").asLong(), name);
                assertEquals(0, impl.path("conntrack").path("insert_failed").asLong(), name + ": reserve never fails an insert");
                // a stall is a dropped SYN retransmitted: asserted as the drop itself, not as a connect's time (a stall
                // of a busy machine is no drop)
                assertNoPacketLost(impl);
            }
        }
        assertEquals(2, reserves, "natgw-reserve with ports and with flows steering");
        final String flowsLog = Files.readString(out.resolve("logs").resolve("connect-storm-natgw-reserve-flows-b1.natgw.log"));
        assertTrue(flowsLog.contains("queue steering flows,"), "the flows program in force, not refused: " + flowsLog);
    }

    /**
     * time-wait: both rows connect through the scenario's small pool to the server that closes first: the server saw
     * only the pool's ports, and natgw took ended connections' tuples over. The kernel's stalls are not asserted, as
     * PAWS refuses by the clocks of the moment.
     */
    @Test
    void shouldConnectThroughTheSmallPoolToAServerThatClosesFirstWithBothRows(@TempDir final Path out) throws Exception
    {
        final CommandResult bench = CliProcess.run(300_000, "bench", "time-wait", "--impl", "kernel-masq,natgw-reserve",
            "--duration", "2", "--blocks", "1", "--clients", String.valueOf(CLIENTS), "--pool-ports", "64",
            "--prefix", prefix, "--out", out.toString(), "--no-install");
        assertEquals(0, bench.exitCode(), bench.stdout() + bench.stderr());
        System.out.println(bench.stdout());

        final JsonNode impls = new ObjectMapper().readTree(out.resolve("summary.json").toFile())
            .path("scenarios").path(0).path("impls");
        assertEquals(List.of("kernel-masq", "natgw-reserve"), List.of(impls.path(0).path("name").asText(),
            impls.path(1).path("name").asText()));
        for (final JsonNode impl : impls)
        {
            final String name = impl.path("name").asText();
            assertTrue(impl.path("ran").asBoolean(), name + ": " + impl.path("unavailable").asText());
            assertTrue(impl.path("counts").path("completed").asLong() > 0, name + ": connections completed");
            assertTrue(impl.path("counts").has("ports_outside"), name + ": ports checked");
            assertEquals(0, impl.path("counts").path("ports_outside").asLong(), name + ": the pool's ports only");
        }
        final JsonNode natgw = impls.path(1);
        assertEquals(0, natgw.path("counts").path("errors").asLong(), natgw.toString());
        assertTrue(natgw.path("conntrack").path("taken_over").asLong() > 0, "natgw reused the pool's tuples: " +
            natgw.path("conntrack"));
    }

    /** natgw dropped nothing, for any reason, and its TUN queue overflowed never. */
    private static void assertNoPacketLost(final JsonNode impl)
    {
        final JsonNode conntrack = impl.path("conntrack");
        final String name = impl.path("name").asText() + ": " + conntrack;
        assertTrue(conntrack.has("dropped") && conntrack.has("tun_tx_dropped"), name);
        assertEquals(0, conntrack.path("drop").asLong(), name);
        assertEquals(0, conntrack.path("dropped").asLong(), name);
        assertEquals(0, conntrack.path("tun_tx_dropped").asLong(), name);
    }
}
