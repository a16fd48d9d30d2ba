package natgw.gateway.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import natgw.perf.lab.Lab;
import natgw.perf.sys.Exec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A short connect-storm through the kernel's masquerade and natgw (reserve), through the shipped jar: the report has
 * both rows with plausible values, and nothing is left behind.
 */
@Tag("root")
class BenchCommandIT
{
    static final int ROUNDS = 10;
    static final int CLIENTS = 8;

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
        final Exec.Result bench = CliProcess.run(300_000, "bench", "connect-storm",
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
}
