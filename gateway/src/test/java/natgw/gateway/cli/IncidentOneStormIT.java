package natgw.gateway.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import natgw.perf.lab.Lab;
import natgw.perf.sys.Exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Incident 1's storm in the namespace lab, through the kernel's masquerade, natgw {@code kernel} and
 * natgw {@code reserve} in one run: 40 client addresses connect to one server port from the same
 * source port at the same instant, round after round. natgw reserve must never stall a connect for
 * a dropped SYN and never fail an insert; the other two are reported beside it, whatever they show.
 */
@Tag("root")
class IncidentOneStormIT
{
    static final int ROUNDS = 25;
    static final int CLIENTS = 40;

    private String prefix;

    @BeforeEach
    void setUp()
    {
        CliProcess.requireRoot();
        prefix = "ngwi" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xFFFF));
    }

    @AfterEach
    void nothingLeftBehind()
    {
        final List<String> left = Lab.existingNamespaces(prefix);
        Lab.down(prefix);
        assertEquals(List.of(), left, "bench must remove its lab");
    }

    @Test
    void shouldNeverStallOrFailAnInsertWithReserveWhereTheKernelStrategiesMay(@TempDir final Path out) throws Exception
    {
        final Exec.Result bench = CliProcess.run(600_000, "bench", "connect-storm",
            "--impl", "kernel-masq,natgw-kernel,natgw-reserve", "--rounds", String.valueOf(ROUNDS), "--blocks", "2",
            "--clients", String.valueOf(CLIENTS), "--prefix", prefix, "--out", out.toString(), "--no-install");
        assertEquals(0, bench.exitCode(), bench.stdout() + bench.stderr());
        System.out.println(bench.stdout()); // the side-by-side table, for the CI log

        final JsonNode impls = new ObjectMapper().readTree(out.resolve("summary.json").toFile())
            .path("scenarios").path(0).path("impls");
        assertEquals(3, impls.size(), "three implementations side by side");
        JsonNode reserve = null;
        for (final JsonNode impl : impls)
        {
            final String name = impl.path("name").asText();
            assertTrue(impl.path("ran").asBoolean(), name + ": " + impl.path("unavailable").asText());
            assertEquals(ROUNDS * CLIENTS, impl.path("counts").path("attempted").asLong(), name);
            assertTrue(impl.path("conntrack").has("insert_failed"), name + ": insert_failed read");
            if (name.equals("natgw-reserve"))
            {
                reserve = impl;
            }
        }
        assertTrue(reserve != null, "natgw-reserve row");
        assertEquals(ROUNDS * CLIENTS, reserve.path("counts").path("completed").asLong(), "every connect completed");
        assertEquals(0, reserve.path("counts").path("stalls").asLong(), "no connect of 1 s or more");
        assertEquals(0, reserve.path("counts").path("errors").asLong());
        assertEquals(0, reserve.path("conntrack").path("insert_failed").asLong(), "reserve never fails an insert");
        assertEquals(0, reserve.path("conntrack").path("drop").asLong());
        assertTrue(reserve.path("latency_us").path("connect").path("maxUs").asDouble() < 1_000_000,
            "slowest connect " + reserve.path("latency_us").path("connect").path("maxUs") + " µs");
    }
}
