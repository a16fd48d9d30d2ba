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
import natgw.core.nat.EndpointDependence;
import natgw.core.nat.PortStrategy;
import natgw.gateway.GatewayConfig;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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

    /** The first line natgw prints for a refused command line (the second says where the help is). */
    private static String refusal(final String... args)
    {
        final StringWriter err = new StringWriter();
        final CommandLine line = Main.commandLine();
        line.setErr(new PrintWriter(err));
        line.setOut(new PrintWriter(new StringWriter()));
        final int exit = line.execute(args);
        assertEquals(2, exit, "a bad command line exits 2: " + err);
        final List<String> lines = err.toString().lines().toList();
        assertEquals(2, lines.size(), err.toString());
        assertEquals("see natgw run --help", lines.get(1));
        assertTrue(lines.get(0).startsWith("natgw: "), lines.get(0));
        return lines.get(0).substring("natgw: ".length());
    }

    private static Path write(final Path dir, final String... lines) throws Exception
    {
        final Path file = dir.resolve("natgw.conf");
        Files.writeString(file, String.join("\n", lines) + "\n");
        return file;
    }

    @Test
    void shouldTakeEachQueueSteeringByItsLabel()
    {
        final String[] base = {"--tun", "ngw0", "--inside", "10.0.0.0/8", "--snat", "198.51.100.1"};
        assertEquals(natgw.tun.TunSteering.CONNECTIONS, parse(base).queueSteering(), "the default");
        for (final natgw.tun.TunSteering steering : natgw.tun.TunSteering.values())
        {
            assertEquals(steering, parse(with(base, "--queue-steering", steering.label())).queueSteering());
        }
    }

    @Test
    void shouldAskForTheShortestSliceByDefaultAndTakeZeroForTheKernels()
    {
        final String[] base = {"--tun", "ngw0", "--inside", "10.0.0.0/8", "--snat", "198.51.100.1"};
        assertEquals(100, parse(base).workerSliceUs(), "the default");
        assertEquals(0, parse(with(base, "--worker-slice-us", "0")).workerSliceUs());
        assertEquals(3000, parse(with(base, "--worker-slice-us", "3000")).workerSliceUs());
        assertEquals("--worker-slice-us: 99 is out of range; give 100..100000 (the kernel's bounds of a slice), " +
            "or 0 for the kernel's default", refusal(with(new String[]{ "run" }, with(base, "--worker-slice-us", "99"))));
        assertEquals("--worker-slice-us: 100001 is out of range; give 100..100000 (the kernel's bounds of a slice), " +
            "or 0 for the kernel's default", refusal(with(new String[]{ "run" }, with(base, "--worker-slice-us", "100001"))));
    }

    @Test
    void shouldParseTheFlagsOtherScriptsUse()
    {
        final GatewayConfig config = parse("--tun", "ngw0", "--queues", "3", "--inside", "10.77.1.0/24,10.9.0.0/16",
            "--snat", "10.77.2.100,10.77.2.101", "--steer", "gi", "--steer", "gj", "--port-range", "2000-3000",
            "--port-strategy", "random-fully", "--conntrack-max", "1000", "--timeout", "udp=10", "--mtu", "1400");
        assertEquals("ngw0", config.tun());
        assertEquals(3, config.queues());
        assertEquals(2, config.inside().size());
        assertArrayEquals(new int[]{ FlowTuple.parseAddress("10.77.2.100"), FlowTuple.parseAddress("10.77.2.101") }, config.pool());
        assertEquals(List.of("gi", "gj"), config.steer());
        assertEquals(2000, config.portLow());
        assertEquals(3000, config.portHigh());
        assertEquals(PortStrategy.RANDOM_FULLY, config.portStrategy());
        assertEquals(1000, config.conntrackMax());
        assertEquals(10_000, config.timeouts().udpUnrepliedMs());
        assertEquals(1400, config.mtu());
    }

    @Test
    void shouldApplyTheTimerPresetBeforeSingleTimeouts()
    {
        final GatewayConfig config = parse("--inside", "10.0.0.0/8", "--snat", "1.2.3.4", "--timeouts", "rfc",
            "--timeout", "udp=150");
        assertEquals(150_000, config.timeouts().udpUnrepliedMs(), "--timeout wins over the preset");
        assertEquals(60_000, config.timeouts().icmpMs(), "the rest from the rfc preset");
        assertEquals(30_000, parse("--inside", "10.0.0.0/8", "--snat", "1.2.3.4").timeouts().icmpMs(), "linux by default");
        assertTrue(parse("--inside", "10.0.0.0/8", "--snat", "1.2.3.4,1.2.3.5", "--pooling", "paired").pairedPooling());
        assertFalse(parse("--inside", "10.0.0.0/8", "--snat", "1.2.3.4,1.2.3.5").pairedPooling(), "arbitrary by default");
        assertTrue(parse("--inside", "10.0.0.0/8", "--snat", "1.2.3.4", "--filtered-reply", "reject").rejectFiltered());
        assertFalse(parse("--inside", "10.0.0.0/8", "--snat", "1.2.3.4").rejectFiltered(), "dropped by default");
    }

    @Test
    void shouldChooseTheMappingAndFilteringBehaviours()
    {
        final GatewayConfig defaults = parse("--inside", "10.0.0.0/8", "--snat", "1.2.3.4");
        assertEquals(EndpointDependence.ENDPOINT_INDEPENDENT, defaults.mapping(), "endpoint-independent with reserve");
        assertEquals(EndpointDependence.ADDRESS_AND_PORT_DEPENDENT, defaults.filtering(), "the kernel's filtering");
        assertEquals(EndpointDependence.ADDRESS_AND_PORT_DEPENDENT,
            parse("--inside", "10.0.0.0/8", "--snat", "1.2.3.4", "--port-strategy", "kernel").mapping(), "the kernel's with its strategies");
        final GatewayConfig cone = parse("--inside", "10.0.0.0/8", "--snat", "1.2.3.4", "--filtering", "endpoint-independent",
            "--mapping", "endpoint-independent");
        assertEquals(EndpointDependence.ENDPOINT_INDEPENDENT, cone.filtering());
        assertEquals(EndpointDependence.ENDPOINT_INDEPENDENT, cone.conclude().mapping());
        assertEquals(EndpointDependence.ADDRESS_AND_PORT_DEPENDENT,
            parse("--inside", "10.0.0.0/8", "--snat", "1.2.3.4", "--mapping", "address-and-port-dependent").conclude().mapping());
    }

    @Test
    void shouldRefuseAMappingOrFilteringTheStrategyCannotGive()
    {
        final String[] good = { "run", "--inside", "10.0.0.0/8", "--snat", "1.2.3.4" };
        assertEquals("--mapping: endpoint-independent mapping needs the reserve port strategy; kernel emulates the kernel, " +
            "whose mapping is address-and-port-dependent (--port-strategy kernel)",
            refusal(with(good, "--port-strategy", "kernel", "--mapping", "endpoint-independent")));
        assertEquals("--mapping: 'full-cone' is none of endpoint-independent, address-dependent, address-and-port-dependent",
            refusal(with(good, "--mapping", "full-cone")));
        assertTrue(refusal(with(good, "--port-strategy", "random", "--filtering", "endpoint-independent"))
            .startsWith("--filtering endpoint-independent: filters packets to endpoint-independent mappings, and the mapping is " +
                "address-and-port-dependent"));
    }

    @Test
    void shouldTakeAPoolAsACidr()
    {
        assertEquals(4, parse("--inside", "10.0.0.0/8", "--snat", "192.0.2.8/30").pool().length);
    }

    @Test
    void shouldRefuseBadValuesNamingTheFlag()
    {
        final String[] good = { "run", "--inside", "10.0.0.0/8", "--snat", "1.2.3.4" };
        assertEquals("--port-range: port range must be LO-HI within 1-65535 with LO <= HI, got '70000-1'",
            refusal(with(good, "--port-range", "70000-1")));
        assertEquals("--inside: not a CIDR (prefix length 0..32): '10.0.0.0/33'; write ADDR/LEN, e.g. 172.18.0.0/16",
            refusal("run", "--inside", "10.0.0.0/8,10.0.0.0/33", "--snat", "1.2.3.4"));
        assertEquals("--port-strategy: unknown port strategy 'fast'; use reserve, kernel, random or random-fully",
            refusal(with(good, "--port-strategy", "fast")));
        assertTrue(refusal(with(good, "--timeout", "tcp_forever=1")).startsWith("--timeout: unknown timeout 'tcp_forever'"));
        assertEquals("--timeout: 'udp' is not NAME=SECONDS; e.g. udp=30", refusal(with(good, "--timeout", "udp")));
        assertEquals("--timeouts: unknown timeout preset 'bsd'; use linux or rfc", refusal(with(good, "--timeouts", "bsd")));
        assertEquals("--pooling: 'sticky' is neither paired nor arbitrary; give one of them",
            refusal(with(good, "--pooling", "sticky")));
        assertEquals("--filtered-reply: 'icmp' is neither reject nor drop; give one of them",
            refusal(with(good, "--filtered-reply", "icmp")));
        assertEquals("--snat: missing; give the pool the sources are masqueraded to (hairpin service traffic too), " +
            "e.g. --snat 192.0.2.10", refusal("run", "--inside", "10.0.0.0/8"));
        assertEquals("--snat: not an IPv4 address: '1.2.3'; give ADDR[,ADDR...] or a CIDR, e.g. 192.0.2.10 or " +
            "192.0.2.8/29", refusal("run", "--inside", "10.0.0.0/8", "--snat", "1.2.3"));
        assertEquals("--inside, --snat: missing; say which sources to masquerade to which pool, " +
            "e.g. natgw run --inside 172.18.0.0/16 --snat 192.0.2.10 --steer br0", refusal("run"));
        assertEquals("--bogus: natgw run has no such option", refusal(with(good, "--bogus")));
        assertEquals("--snatt: natgw run has no such option; did you mean --snat?", refusal(with(good, "--snatt=1")));
        assertEquals("--service: backend must be ADDR:PORT[@WEIGHT], got '10.0.0.2'; " +
            "e.g. tcp:10.96.0.10:80=172.18.0.5:8080,172.18.0.6:8080",
            refusal(with(good, "--service", "tcp:10.0.0.1:80=10.0.0.2")));
        assertEquals("--queues: 'x' is not a whole number; give digits only, e.g. --queues 8",
            refusal(with(good, "--queues", "x")));
        assertEquals("--conntrack-max: '99999999999' is too large; give at most 2147483647",
            refusal(with(good, "--conntrack-max", "99999999999")));
        assertEquals("--queues: 0 is out of range; give 1..64", refusal(with(good, "--queues", "0")));
        assertEquals("--mtu: 20 is out of range; give 68..65535", refusal(with(good, "--mtu", "20")));
        assertEquals("--route-table: 254 is one of the kernel's tables (253 default, 254 main, 255 local); " +
            "give a free one, e.g. 20039", refusal(with(good, "--route-table", "254")));
        assertEquals("--tun: 'a/b' cannot be a device name; give 1 to 15 letters, digits, '_', '.' or '-'",
            refusal(with(good, "--tun", "a/b")));
        assertEquals("--tun: given twice; give it once", refusal(with(good, "--tun", "a", "--tun", "b")));
        assertEquals("--snat: needs a value (ADDR[,ADDR...]|CIDR)", refusal("run", "--inside", "10.0.0.0/8", "--snat"));
        assertEquals("--offload: 'maybe' is neither on nor off; give one of them", refusal(with(good, "--offload", "maybe")));
        assertEquals("--queue-steering: 'hash' is none of ports, flows, connections, kernel; give one of them",
            refusal(with(good, "--queue-steering", "hash")));
        assertEquals("--removed-backend: 'drop' is neither reset nor unreachable; give one of them",
            refusal(with(good, "--removed-backend", "drop")));
        assertEquals("'extra': natgw run takes options only; an option starts with --", refusal(with(good, "extra")));
    }

    private static String[] with(final String[] args, final String... more)
    {
        final String[] all = java.util.Arrays.copyOf(args, args.length + more.length);
        System.arraycopy(more, 0, all, args.length, more.length);
        return all;
    }

    @Test
    void shouldListenForMetricsOnLoopbackUnlessToldWhere()
    {
        final GatewayConfig defaults = parse("--inside", "10.0.0.0/8", "--snat", "1.2.3.4");
        assertEquals("127.0.0.1", defaults.metricsHost());
        assertEquals(9469, defaults.metricsPort());

        final GatewayConfig anywhere = parse("--inside", "10.0.0.0/8", "--snat", "1.2.3.4", "--metrics-address", "0.0.0.0:9100");
        assertEquals("0.0.0.0", anywhere.metricsHost());
        assertEquals(9100, anywhere.metricsPort());
        assertEquals("::1", parse("--inside", "10.0.0.0/8", "--snat", "1.2.3.4", "--metrics-address", "[::1]:9469").metricsHost());
        assertEquals("[::1]:9469", parse("--inside", "10.0.0.0/8", "--snat", "1.2.3.4", "--metrics-address", "[::1]:9469")
            .metricsAddress());
        assertNull(parse("--inside", "10.0.0.0/8", "--snat", "1.2.3.4", "--metrics-address", "off").metricsHost());
    }

    @Test
    void shouldTakeTheOldMetricsPortFlagAsLoopbackAddressWithZeroForOff()
    {
        final GatewayConfig port = parse("--inside", "10.0.0.0/8", "--snat", "1.2.3.4", "--metrics-port", "9500");
        assertEquals("127.0.0.1:9500", port.metricsAddress());
        assertNull(parse("--inside", "10.0.0.0/8", "--snat", "1.2.3.4", "--metrics-port", "0").metricsHost());
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
        assertEquals("natgw9", config.tun());
        assertEquals(1, config.services().size());
        assertEquals(2, config.services().get(0).backends.size());
        assertEquals(300, config.services().get(0).affinitySeconds);
    }

    @Test
    void shouldRefuseAnUnknownSettingWithFileAndLine(@TempDir final Path dir) throws Exception
    {
        final Path file = dir.resolve("bad.conf");
        Files.writeString(file, "inside 10.0.0.0/8\nsnat 192.0.2.1\nsnatt 192.0.2.2\n");
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> ConfigFile.toArguments(file, new CommandLine(new RunCommand()).getCommandSpec()));
        assertEquals(file + ":3: unknown setting 'snatt'; did you mean snat?", ex.getMessage());

        assertEquals(file + ":3: unknown setting 'snatt'; did you mean snat?", refusal("run", "--config", file.toString()));
        Files.writeString(file, "port_range 2000-3000\n");
        assertEquals(file + ":1: unknown setting 'port_range'; did you mean port-range?",
            refusal("run", "--config", file.toString()));
        Files.writeString(file, "pool 192.0.2.1\n");
        assertEquals(file + ":1: unknown setting 'pool'; natgw run --help lists them", refusal("run", "--config", file.toString()));
    }

    @Test
    void shouldRefuseASettingWithoutItsValue(@TempDir final Path dir) throws Exception
    {
        final Path file = dir.resolve("bad.conf");
        Files.writeString(file, "inside\n");
        assertEquals(file + ":1: inside: needs a value (CIDR)", refusal("run", "--config", file.toString()));
        Files.writeString(file, "inside =\n");
        assertEquals(file + ":1: inside: needs a value (CIDR)", refusal("run", "--config", file.toString()));
    }

    @Test
    void shouldReadNameEqualsValueAndDashesAsAUserWouldWriteThem(@TempDir final Path dir) throws Exception
    {
        final Path file = write(dir,
            "snat = 10.77.2.100",
            "inside=10.77.1.0/24",
            "--steer gi",
            "timeout = udp=10",
            "timeout tcp_established=600",
            "no-clash-resolution = true",
            "no-l4-checksum-check = no");
        final GatewayConfig config = viaMain("run", "--config", file.toString());
        assertArrayEquals(new int[]{ FlowTuple.parseAddress("10.77.2.100") }, config.pool());
        assertEquals(1, config.inside().size());
        assertEquals(List.of("gi"), config.steer());
        assertEquals(10_000, config.timeouts().udpUnrepliedMs());
        assertEquals(false, config.clashResolution());
        assertEquals(true, config.verifyL4Checksums());
    }

    @Test
    void shouldNameTheFileAndLineOfABadValue(@TempDir final Path dir) throws Exception
    {
        Path file = write(dir, "inside 10.0.0.0/8", "snat = 10.77.2.300");
        assertEquals(file + ":2: snat: not an IPv4 address: '10.77.2.300'; give ADDR[,ADDR...] or a CIDR, " +
            "e.g. 192.0.2.10 or 192.0.2.8/29", refusal("run", "--config", file.toString()));
        file = write(dir, "snat 10.77.2.1", "inside 10.0.0.0/8", "", "# more", "inside 10.1.0.0/16,10.2.0.0/33");
        assertEquals(file + ":5: inside: not a CIDR (prefix length 0..32): '10.2.0.0/33'; write ADDR/LEN, " +
            "e.g. 172.18.0.0/16", refusal("run", "--config", file.toString()));
        assertEquals("--inside: not a CIDR (prefix length 0..32): '10.3.0.0/33'; write ADDR/LEN, e.g. 172.18.0.0/16",
            refusal("run", "--config", write(dir, "snat 10.77.2.1", "inside 10.0.0.0/8").toString(),
            "--inside", "10.3.0.0/33"), "a value from the command line is the command line's");
        file = write(dir, "inside 10.0.0.0/8", "snat 10.77.2.1", "queues abc");
        assertEquals(file + ":3: queues: 'abc' is not a whole number; give digits only, e.g. queues 8",
            refusal("run", "--config", file.toString()));
        file = write(dir, "inside 10.0.0.0/8", "snat 10.77.2.1", "queues 0");
        assertEquals(file + ":3: queues: 0 is out of range; give 1..64", refusal("run", "--config", file.toString()));
        assertEquals(3, viaMain("run", "--config", file.toString(), "--queues", "3").queues(),
            "the command line's value wins, and the file's is not checked");
        file = write(dir, "inside 10.0.0.0/8", "snat 10.77.2.1", "timeout udp=x");
        assertEquals(file + ":3: timeout: 'udp=x': SECONDS must be a whole number, e.g. udp=30",
            refusal("run", "--config", file.toString()));
        file = write(dir, "inside 10.0.0.0/8", "snat 10.77.2.1", "no-clash-resolution maybe");
        assertEquals(file + ":3: no-clash-resolution: a flag takes no value, or true or false; got 'maybe'",
            refusal("run", "--config", file.toString()));
        assertEquals("--config: cannot read " + dir.resolve("none.conf") + ": no such file or directory",
            refusal("run", "--config", dir.resolve("none.conf").toString()));
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
        assertEquals("ngw1", config.tun(), "the command line wins for single values");
        assertEquals(3, config.queues());
        assertEquals(3, config.inside().size(), "and adds to repeatable ones");
        assertEquals(3, config.services().size());
        assertEquals(300, config.services().get(0).affinitySeconds);
        assertEquals("tcp:10.96.0.30:80", config.services().get(2).key());
        assertEquals(false, config.clashResolution());
        assertEquals("natgw9", viaMain("run", "--config=" + file).tun());
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
        assertTrue(err.startsWith(file + ":4: service: ") && err.contains("'fastest'"), err);
        Files.writeString(file, "inside 10.0.0.0/8\nsnat 192.0.2.1\nservice tcp:10.96.0.1:80=10.0.1.1\n");
        assertTrue(refusal("run", "--config", file.toString()).startsWith(file + ":3: service: backend must be ADDR:PORT"));
    }
}
