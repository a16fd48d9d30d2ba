package natgw.gateway.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import natgw.core.flow.FlowTuple;
import natgw.core.nat.PortStrategy;
import natgw.gateway.GatewayConfig;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Flags and config files of {@code natgw run}, parsed without running a gateway. */
class RunCommandTest
{
    private static GatewayConfig parse(final String... args)
    {
        final RunCommand command = new RunCommand();
        new CommandLine(command).parseArgs(args);
        return command.toConfig();
    }

    private static String refusal(final String... args)
    {
        final StringWriter err = new StringWriter();
        final CommandLine line = new CommandLine(new Main());
        line.setErr(new PrintWriter(err));
        line.setOut(new PrintWriter(new StringWriter()));
        final int exit = line.execute(args);
        assertEquals(2, exit, "a bad command line exits 2: " + err);
        return err.toString();
    }

    @Test
    void shouldParseTheFlagsOtherScriptsUse()
    {
        final GatewayConfig config = parse("--tun", "ngw0", "--queues", "3", "--inside", "10.77.1.0/24,10.9.0.0/16",
            "--snat", "10.77.2.100,10.77.2.101", "--steer", "gi", "--steer", "gj", "--port-range", "2000-3000",
            "--port-strategy", "random-fully", "--conntrack-max", "1000", "--timeout", "udp=10", "--mtu", "1400");
        assertEquals("ngw0", config.tun);
        assertEquals(3, config.queues);
        assertEquals(2, config.inside.size());
        assertArrayEquals(new int[]{ FlowTuple.parseAddress("10.77.2.100"), FlowTuple.parseAddress("10.77.2.101") }, config.pool);
        assertEquals(List.of("gi", "gj"), config.steer);
        assertEquals(2000, config.portLow);
        assertEquals(3000, config.portHigh);
        assertEquals(PortStrategy.RANDOM_FULLY, config.portStrategy);
        assertEquals(1000, config.conntrackMax);
        assertEquals(10_000, config.timeouts.udpUnrepliedMs());
        assertEquals(1400, config.mtu);
    }

    @Test
    void shouldTakeAPoolAsACidr()
    {
        assertEquals(4, parse("--inside", "10.0.0.0/8", "--snat", "192.0.2.8/30").pool.length);
    }

    @Test
    void shouldRefuseBadValuesNamingTheFlag()
    {
        assertTrue(refusal("run", "--inside", "10.0.0.0/8", "--snat", "1.2.3.4", "--port-range", "70000-1")
            .contains("port range must be LO-HI"));
        assertTrue(refusal("run", "--inside", "10.0.0.0/33", "--snat", "1.2.3.4").contains("10.0.0.0/33"));
        assertTrue(refusal("run", "--inside", "10.0.0.0/8", "--snat", "1.2.3.4", "--port-strategy", "fast")
            .contains("unknown port strategy 'fast'"));
        assertTrue(refusal("run", "--inside", "10.0.0.0/8", "--snat", "1.2.3.4", "--timeout", "tcp_forever=1")
            .contains("unknown timeout 'tcp_forever'"));
        assertTrue(refusal("run", "--inside", "10.0.0.0/8").contains("--snat"));
        assertTrue(refusal("run", "--inside", "10.0.0.0/8", "--snat", "1.2.3.4", "--bogus").contains("--bogus"));
        assertTrue(refusal("run", "--inside", "10.0.0.0/8", "--snat", "1.2.3.4", "--service", "tcp:10.0.0.1:80=10.0.0.2")
            .contains("backend must be ADDR:PORT"));
    }

    @Test
    void shouldListenForMetricsOnLoopbackUnlessToldWhere()
    {
        final GatewayConfig defaults = parse("--inside", "10.0.0.0/8", "--snat", "1.2.3.4");
        assertEquals("127.0.0.1", defaults.metricsHost);
        assertEquals(9469, defaults.metricsPort);

        final GatewayConfig anywhere = parse("--inside", "10.0.0.0/8", "--snat", "1.2.3.4", "--metrics-address", "0.0.0.0:9100");
        assertEquals("0.0.0.0", anywhere.metricsHost);
        assertEquals(9100, anywhere.metricsPort);
        assertEquals("::1", parse("--inside", "10.0.0.0/8", "--snat", "1.2.3.4", "--metrics-address", "[::1]:9469").metricsHost);
        assertEquals("[::1]:9469", parse("--inside", "10.0.0.0/8", "--snat", "1.2.3.4", "--metrics-address", "[::1]:9469")
            .metricsAddress());
        assertNull(parse("--inside", "10.0.0.0/8", "--snat", "1.2.3.4", "--metrics-address", "off").metricsHost);
    }

    @Test
    void shouldTakeTheOldMetricsPortFlagAsLoopbackAddressWithZeroForOff()
    {
        final GatewayConfig port = parse("--inside", "10.0.0.0/8", "--snat", "1.2.3.4", "--metrics-port", "9500");
        assertEquals("127.0.0.1:9500", port.metricsAddress());
        assertNull(parse("--inside", "10.0.0.0/8", "--snat", "1.2.3.4", "--metrics-port", "0").metricsHost);
        assertEquals("0.0.0.0:9100", parse("--inside", "10.0.0.0/8", "--snat", "1.2.3.4",
            "--metrics-port", "9500", "--metrics-address", "0.0.0.0:9100").metricsAddress(), "the last one given wins");
    }

    @Test
    void shouldRefuseAMetricsAddressWithoutHostOrPort()
    {
        for (final String bad : new String[]{ "9469", ":9469", "localhost", "localhost:http", "::1:9469", "127.0.0.1:70000" })
        {
            final String err = refusal("run", "--inside", "10.0.0.0/8", "--snat", "1.2.3.4", "--metrics-address", bad);
            assertTrue(err.contains("--metrics-address"), bad + ": " + err);
        }
        assertTrue(refusal("run", "--inside", "10.0.0.0/8", "--snat", "1.2.3.4", "--metrics-address", "::1:9469")
            .contains("[::1]:9469"));
    }

    @Test
    void shouldReadAConfigFileAsOptionsWithoutDashes(@TempDir final Path dir) throws Exception
    {
        final Path file = dir.resolve("natgw.conf");
        Files.writeString(file, String.join("\n",
            "# a comment",
            "tun natgw9",
            "inside 172.18.0.0/16   # trailing comment",
            "snat 192.0.2.10",
            "",
            "no-clash-resolution",
            "service tcp:10.96.0.20:80/wrr/300=10.0.1.2:8080@3,10.0.1.3:8080@1"));
        final RunCommand command = new RunCommand();
        final CommandLine line = new CommandLine(command);
        final List<String> args = ConfigFile.toArguments(file, line.getCommandSpec());
        assertEquals(List.of("--tun", "natgw9", "--inside", "172.18.0.0/16", "--snat", "192.0.2.10",
            "--no-clash-resolution", "--service", "tcp:10.96.0.20:80/wrr/300=10.0.1.2:8080@3,10.0.1.3:8080@1"), args);
        line.parseArgs(args.toArray(String[]::new));
        final GatewayConfig config = command.toConfig();
        assertEquals("natgw9", config.tun);
        assertEquals(1, config.services.size());
        assertEquals(2, config.services.get(0).backends.size());
        assertEquals(300, config.services.get(0).affinitySeconds);
    }

    @Test
    void shouldRefuseAnUnknownSettingWithFileAndLine(@TempDir final Path dir) throws Exception
    {
        final Path file = dir.resolve("bad.conf");
        Files.writeString(file, "inside 10.0.0.0/8\nsnat 192.0.2.1\nsnatt 192.0.2.2\n");
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> ConfigFile.toArguments(file, new CommandLine(new RunCommand()).getCommandSpec()));
        assertEquals(file + ":3: unknown setting 'snatt'", ex.getMessage());

        final String err = refusal("run", "--config", file.toString());
        assertTrue(err.contains(file + ":3: unknown setting 'snatt'"), err);
    }

    @Test
    void shouldRefuseASettingWithoutItsValue(@TempDir final Path dir) throws Exception
    {
        final Path file = dir.resolve("bad.conf");
        Files.writeString(file, "inside\n");
        assertTrue(refusal("run", "--config", file.toString()).contains(file + ":1: setting 'inside' needs a value"));
    }

    /** natgw run ARGS parsed as Main parses it, then its config file applied, as call() does before starting. */
    private static GatewayConfig viaMain(final String... args)
    {
        final CommandLine line = new CommandLine(new Main());
        final CommandLine.ParseResult result = line.parseArgs(args);
        final RunCommand run = (RunCommand)result.subcommand().commandSpec().userObject();
        return run.withConfigFile().toConfig();
    }

    @Test
    void shouldRunFromAConfigFileWithTheCommandLineWinning(@TempDir final Path dir) throws Exception
    {
        final Path file = dir.resolve("natgw.conf");
        Files.writeString(file, String.join("\n",
            "tun natgw9",
            "queues 3",
            "inside 172.18.0.0/16",
            "snat 192.0.2.10",
            "service tcp:10.96.0.20:80/wrr/300=10.0.1.2:8080@3,10.0.1.3:8080@1",
            "service udp:10.96.0.10:53=10.0.1.2:53"));
        // the verb "run" is part of the natgw command line: it must not end up among run's own arguments
        final GatewayConfig config = viaMain("run", "--config", file.toString(), "--tun", "ngw1", "--no-clash-resolution",
            "--inside", "10.77.1.0/24,10.78.0.0/16", "--service", "tcp:10.96.0.30:80=10.0.1.4:80");
        assertEquals("ngw1", config.tun, "the command line wins for single values");
        assertEquals(3, config.queues);
        assertEquals(3, config.inside.size(), "and adds to repeatable ones");
        assertEquals(3, config.services.size());
        assertEquals(300, config.services.get(0).affinitySeconds);
        assertEquals("tcp:10.96.0.30:80", config.services.get(2).key());
        assertEquals(false, config.clashResolution);
        assertEquals("natgw9", viaMain("run", "--config=" + file).tun);
    }

    @Test
    void shouldLetTheCommandLinesMetricsAddressWinOverTheFilesMetricsPort(@TempDir final Path dir) throws Exception
    {
        final Path file = dir.resolve("natgw.conf");
        Files.writeString(file, "inside 172.18.0.0/16\nsnat 192.0.2.10\nmetrics-port 9500\n");
        assertEquals("127.0.0.1:9500", viaMain("run", "--config", file.toString()).metricsAddress());
        assertEquals("0.0.0.0:9100",
            viaMain("run", "--config", file.toString(), "--metrics-address", "0.0.0.0:9100").metricsAddress());
    }

    @Test
    void shouldRefuseABadServiceLineWithFileAndLine(@TempDir final Path dir) throws Exception
    {
        final Path file = dir.resolve("bad.conf");
        Files.writeString(file, "inside 10.0.0.0/8\nsnat 192.0.2.1\n# services\nservice tcp:10.96.0.1:80/fastest=10.0.1.1:80\n");
        final String err = refusal("run", "--config", file.toString());
        assertTrue(err.contains(file + ":4: ") && err.contains("'fastest'"), err);
        Files.writeString(file, "inside 10.0.0.0/8\nsnat 192.0.2.1\nservice tcp:10.96.0.1:80=10.0.1.1\n");
        assertTrue(refusal("run", "--config", file.toString()).contains(file + ":3: backend must be ADDR:PORT"));
    }
}
