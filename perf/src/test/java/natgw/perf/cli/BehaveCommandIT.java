package natgw.perf.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import natgw.tun.CommandResult;
import natgw.tun.lab.Lab;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code natgw bench behave} through the shipped jars, once: natgw PASSes every row of the conformance table (each
 * MUST, and each mode it claims), the kernel's answer stands beside it, and the lab is gone afterwards. One test per
 * row, so that a FAIL names the row, natgw's answer and the features the row needs.
 */
@Tag("root")
class BehaveCommandIT
{
    static final List<String> ROWS = List.of("eim-udp", "eim-tcp", "no-port-sharing-udp", "no-port-sharing-tcp",
        "hairpin-udp", "hairpin-tcp", "fragments", "one-hop", "icmp-id", "paired-pooling", "udp-timeout", "syn-silence",
        "rfc-timers", "filter-endpoint-independent", "filter-address-dependent", "filter-address-and-port-dependent");

    @TempDir
    static Path out;
    private static String prefix;
    private static CommandResult run;
    private static List<String> leftBehind;

    @BeforeAll
    static void runTheSuite()
    {
        CliProcess.requireRoot();
        prefix = "ngwv" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xFFFF));
        run = CliProcess.run(600_000, "bench", "behave", "--prefix", prefix, "--out", out.toString(), "--no-install");
        leftBehind = Lab.existingNamespaces(prefix);
    }

    @AfterAll
    static void removeTheLab()
    {
        if (prefix != null)
        {
            Lab.down(prefix);
        }
    }

    @Test
    void shouldPrintTheTableOfEveryRowAndRemoveTheLab() throws Exception
    {
        assertEquals(0, run.exitCode(), run.stdout() + run.stderr());
        assertEquals(List.of(), leftBehind, "bench behave must remove its lab");
        assertTrue(run.stdout().contains("report: " + out.resolve("behave.md")), run.stdout());
        final List<String> keys = new ArrayList<>();
        for (final JsonNode row : rows())
        {
            keys.add(row.path("key").asText());
            assertTrue(run.stdout().contains(row.path("key").asText()), row.path("key").asText());
            assertTrue(Files.readString(out.resolve("behave.md")).contains("| " + row.path("key").asText() + " |"));
        }
        assertEquals(ROWS, keys);
    }

    /** The kernel side ran: every row has the kernel's answer, not a failure of the suite's own machinery. */
    @Test
    void shouldHaveTheKernelsAnswerInEveryRow() throws Exception
    {
        for (final JsonNode row : rows())
        {
            final String kernel = row.path("kernel").asText();
            assertFalse(kernel.isBlank() || kernel.startsWith("check failed") || kernel.startsWith("no result"),
                row.path("key").asText() + ": " + kernel);
        }
    }

    @TestFactory
    Stream<DynamicTest> shouldPassEveryRowThroughNatgw()
    {
        return ROWS.stream().map(key -> DynamicTest.dynamicTest("natgw passes " + key, () ->
        {
            final JsonNode row = row(key);
            assertEquals("PASS", row.path("natgw_verdict").asText(), key + " (" + row.path("requirement").asText() +
                "; needs: " + row.path("features") + "): natgw " + row.path("natgw").asText() + "; kernel " +
                row.path("kernel").asText());
        }));
    }

    private static List<JsonNode> rows() throws Exception
    {
        assertTrue(Files.exists(out.resolve("behave.json")), "no behave.json: " + run.stdout() + run.stderr());
        final List<JsonNode> rows = new ArrayList<>();
        new ObjectMapper().readTree(out.resolve("behave.json").toFile()).path("rows").forEach(rows::add);
        return rows;
    }

    private static JsonNode row(final String key) throws Exception
    {
        for (final JsonNode row : rows())
        {
            if (row.path("key").asText().equals(key))
            {
                return row;
            }
        }
        throw new AssertionError("no row " + key + " in behave.json: " + run.stdout() + run.stderr());
    }
}
