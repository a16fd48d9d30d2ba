package natgw.perf.cli;

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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code natgw lab up|status|exec|down} through the shipped jar. */
@Tag("root")
class LabCommandIT
{
    private String prefix;

    @BeforeEach
    void setUp()
    {
        CliProcess.requireRoot();
        prefix = "ngwc" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xFFFF));
    }

    @AfterEach
    void nothingLeftBehind()
    {
        Lab.down(prefix);
        assertEquals(List.of(), Lab.existingNamespaces(prefix));
    }

    @Test
    void shouldBuildReportRunInAndRemoveTheLab() throws Exception
    {
        final CommandResult up = CliProcess.run(60_000, "lab", "up", "--prefix", prefix, "--clients", "3");
        assertEquals(0, up.exitCode(), up.stderr());
        assertTrue(up.stdout().contains(prefix + "-gw"), up.stdout());

        final CommandResult again = CliProcess.run(60_000, "lab", "up", "--prefix", prefix);
        assertEquals(1, again.exitCode());
        assertTrue(again.stderr().contains("already exists"), again.stderr());

        final CommandResult status = CliProcess.run(60_000, "lab", "status", "--prefix", prefix, "--json");
        assertEquals(0, status.exitCode(), status.stderr());
        final JsonNode json = new ObjectMapper().readTree(status.stdout());
        assertTrue(json.path("up").asBoolean());
        assertEquals(prefix + "-client", json.path("namespaces").path(0).path("name").asText());
        assertEquals("[\"10.77.1.2/24\",\"10.77.1.3/24\",\"10.77.1.4/24\"]",
            json.path("namespaces").path(0).path("interfaces").path(1).path("addresses").toString());

        assertEquals(0, CliProcess.run(60_000, "lab", "exec", "--prefix", prefix, "client", "--",
            "ping", "-c1", "-W2", Lab.GW_INSIDE_ADDR).exitCode());
        assertEquals(7, CliProcess.run(60_000, "lab", "exec", "--prefix", prefix, "server", "--",
            "sh", "-c", "exit 7").exitCode(), "exit code passed through");

        final CommandResult down = CliProcess.run(60_000, "lab", "down", "--prefix", prefix);
        assertEquals(0, down.exitCode(), down.stderr());
        assertEquals(List.of(), Lab.existingNamespaces(prefix));
        assertEquals(3, CliProcess.run(60_000, "lab", "status", "--prefix", prefix).exitCode(), "down: exit 3");
        assertEquals(0, CliProcess.run(60_000, "lab", "down", "--prefix", prefix).exitCode(), "idempotent");
    }
}
