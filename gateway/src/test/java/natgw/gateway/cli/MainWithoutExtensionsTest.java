package natgw.gateway.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The daemon's command alone: without perf on the class path its verbs work and bench, demo and lab are absent. */
class MainWithoutExtensionsTest
{
    @Test
    void shouldOfferOnlyTheDaemonsVerbsWithoutPerf()
    {
        assertEquals(List.of("help", "run", "conntrack", "cleanup", "services", "service"),
            List.copyOf(Main.commandLine().getSubcommands().keySet()));
    }

    @Test
    void shouldRefuseBenchAsUnknownWithoutPerf()
    {
        final StringWriter err = new StringWriter();
        final CommandLine line = Main.commandLine();
        line.setErr(new PrintWriter(err));
        assertEquals(2, line.execute("bench", "connect-storm"));
        assertEquals("natgw: 'bench' is not a natgw command; the commands are help, run, conntrack, cleanup, " +
            "services, service\nsee natgw --help\n", err.toString());
    }
}
