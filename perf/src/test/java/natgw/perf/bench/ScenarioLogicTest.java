package natgw.perf.bench;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

import natgw.tun.lab.Lab;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The parts of scenarios and implementations that need no namespace. */
class ScenarioLogicTest
{
    @Test
    void shouldSplitRoundsOverBlocksWithoutLosingAny()
    {
        int total = 0;
        for (int b = 0; b < 3; b++)
        {
            total += ConnectStormScenario.roundsInBlock(100, b, 3);
        }
        assertEquals(100, total);
        assertEquals(34, ConnectStormScenario.roundsInBlock(100, 0, 3));
        assertEquals(33, ConnectStormScenario.roundsInBlock(100, 2, 3));
    }

    @Test
    void shouldRewriteStormProgressForTheProgressLine()
    {
        assertEquals("round 3/50 connected 120 stalls 1 errors 0",
            ConnectStormScenario.progressText("rounds=3 completed=120 stalls=1 errors=0", 50));
    }

    @Test
    void shouldRunNatgwWithTheLabCommandLine()
    {
        assertEquals(List.of("run", "--fresh", "--tun", "ngw0", "--inside", "10.77.1.0/24", "--snat", "10.77.2.100", "--steer",
            "gi", "--port-strategy", "reserve"), new NatgwGateway("reserve").runArguments(0));
        assertEquals(List.of("run", "--fresh", "--tun", "ngw0", "--inside", "10.77.1.0/24", "--snat", "10.77.2.100", "--steer",
            "gi", "--port-strategy", "kernel", "--queues", "2"), new NatgwGateway("kernel").runArguments(2));
    }

    @Test
    void shouldGiveNatgwTheScenariosPortRange()
    {
        assertEquals(List.of("run", "--fresh", "--tun", "ngw0", "--inside", "10.77.1.0/24", "--snat", "10.77.2.100", "--steer",
            "gi", "--port-strategy", "reserve", "--port-range", "20000-20031"),
            new NatgwGateway("reserve").runArguments(0, List.of(), "20000-20031"));
    }

    @Test
    void shouldGiveTheTimeWaitPoolFrom20000AndRefuseOneSmallerThanItsClientsOrPastThePorts()
    {
        assertEquals("20000-20255", TimeWaitScenario.poolRange(256));
        assertEquals("20000-20007", TimeWaitScenario.poolRange(TimeWaitScenario.MAX_CLIENTS));
        assertEquals("20000-65535", TimeWaitScenario.poolRange(45536));
        assertThrows(IllegalArgumentException.class, () -> TimeWaitScenario.poolRange(TimeWaitScenario.MAX_CLIENTS - 1));
        assertThrows(IllegalArgumentException.class, () -> TimeWaitScenario.poolRange(45537));
        final BenchOptions options = new BenchOptions();
        options.poolPorts = 4;
        final IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
            () -> TimeWaitScenario.validate(options));
        assertTrue(refused.getMessage().contains("--pool-ports must be 8"), refused.getMessage());
        options.poolPorts = 256;
        options.rate = -1;
        assertThrows(IllegalArgumentException.class, () -> TimeWaitScenario.validate(options));
    }

    @Test
    void shouldReadTheServersPawsRefusalsFromNetstat()
    {
        final String netstat = "TcpExt: SyncookiesSent PAWSActive PAWSEstab PAWSTimewait\n" +
            "TcpExt: 0 3 5 1234\n" +
            "IpExt: InNoRoutes PAWSTimewait\n" +
            "IpExt: 9 9\n";
        assertEquals(1234, Lab.tcpExt(netstat, "PAWSTimewait"));
        assertEquals(3, Lab.tcpExt(netstat, "PAWSActive"));
        assertEquals(-1, Lab.tcpExt(netstat, "NoSuchCounter"), "a kernel before 6.16 has no PAWSTimewait");
        assertThrows(IllegalStateException.class, () -> Lab.tcpExt("Ip: 1\n", "PAWSTimewait"));
    }

    @Test
    void shouldMasqueradeTcpAndUdpFromTheScenariosPortRangeAndTheRestAsBefore()
    {
        final String ruleset = new KernelMasquerade("kernel-masq-random", "random").ruleset("20000-20031");
        assertTrue(ruleset.contains("ip saddr " + Lab.INSIDE_CIDR + " oifname \"go\" meta l4proto { tcp, udp } " +
            "masquerade to :20000-20031 random\n" + "    ip saddr " + Lab.INSIDE_CIDR + " oifname \"go\" masquerade random\n"),
            ruleset);
    }

    @Test
    void shouldMasqueradeOnTheOutsideInterfaceWithTheGivenFlags()
    {
        final String plain = new KernelMasquerade("kernel-masq", "").ruleset(null);
        assertTrue(plain.contains("ip saddr " + Lab.INSIDE_CIDR + " oifname \"go\" masquerade\n"), plain);
        final String fully = new KernelMasquerade("kernel-masq-fully-random", "fully-random").ruleset(null);
        assertTrue(fully.contains("masquerade fully-random\n"), fully);
        assertTrue(fully.contains("type nat hook postrouting priority srcnat"), fully);
    }

    @Test
    void shouldSelectScenarioDefaultsAllOrNamedImplementations()
    {
        assertEquals(List.of("kernel-masq", "natgw-reserve"), names(Implementations.select(List.of(),
            List.of("kernel-masq", "natgw-reserve"), null)));
        assertEquals(List.of("kernel-masq", "nulltun", "nulltun-offload"), names(Implementations.select(
            List.of("kernel-masq"), List.of(), Path.of("/x/nulltun"))));
        assertEquals(List.of("kernel-forward", "kernel-masq", "kernel-masq-fully-random", "kernel-masq-random",
            "natgw-kernel", "natgw-random", "natgw-random-fully", "natgw-reserve", "natgw-reserve-no-offload",
            "nulltun", "nulltun-offload"), names(Implementations.select(List.of("all"), List.of(),
            Path.of("/x/nulltun"))).stream().sorted().toList());
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> Implementations.select(List.of("nulltun"), List.of(), null));
        assertTrue(e.getMessage().contains("--nulltun"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Implementations.select(List.of("iptables"), List.of(),
            null));
    }

    @Test
    void shouldAddBothNulltunsToEverySnatScenarioWheneverItsPathIsGiven()
    {
        for (final String scenario : List.of("connect-storm", "short-connections", "throughput"))
        {
            final List<String> selected = names(Implementations.select(List.of(),
                Scenarios.byName(scenario).defaultImpls(), Path.of("/x/nulltun.c"), false));
            assertTrue(selected.containsAll(List.of("nulltun", "nulltun-offload")), scenario + ": " + selected);
        }
        assertEquals(List.of("nulltun-offload", "natgw-reserve", "nulltun"), names(Implementations.select(
            List.of("nulltun-offload", "natgw-reserve"), List.of(), Path.of("/x/nulltun"))),
            "named ones keep their order, the missing ceiling comes last");
        assertEquals(List.of("kernel-dnat", "natgw-reserve"), names(Implementations.select(List.of(),
            List.of("kernel-dnat", "natgw-reserve"), Path.of("/x/nulltun"), true)), "no TUN ceiling behind a VIP");
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> Implementations.select(List.of("nulltun-offload"), List.of(), null));
        assertTrue(e.getMessage().contains("--nulltun"), e.getMessage());
    }

    @Test
    void shouldRefuseASettleThatIsNotSecondsFromZero()
    {
        final BenchOptions options = new BenchOptions();
        ShortConnectionsScenario.validate(options);
        options.settleS = 0;
        ShortConnectionsScenario.validate(options);
        options.settleS = -1;
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> ShortConnectionsScenario.validate(options));
        assertEquals("--settle must be 0 to 3600 seconds, not -1.0", e.getMessage());
        options.settleS = Double.NaN;
        assertThrows(IllegalArgumentException.class, () -> ShortConnectionsScenario.validate(options));
    }

    @Test
    void shouldCompareNatgwWithAndWithoutOffloadsInThroughputByDefault()
    {
        assertEquals(List.of("kernel-forward", "kernel-masq", "natgw-reserve", "natgw-reserve-no-offload", "nulltun",
            "nulltun-offload"), names(Implementations.select(List.of(), new ThroughputScenario().defaultImpls(),
            Path.of("/x/nulltun.c"))));
    }

    @Test
    void shouldRunNatgwWithoutOffloadsOnlyInTheNoOffloadRow()
    {
        final Map<String, Implementation> known = Implementations.known(null);
        final NatgwGateway off = (NatgwGateway)known.get("natgw-reserve-no-offload");
        assertEquals(List.of("run", "--fresh", "--tun", "ngw0", "--inside", "10.77.1.0/24", "--snat", "10.77.2.100", "--steer",
            "gi", "--port-strategy", "reserve", "--offload", "off", "--queues", "2"), off.runArguments(2));
        for (final String name : List.of("natgw-reserve", "natgw-kernel", "natgw-random", "natgw-random-fully",
            "natgw-kernel-no-clash"))
        {
            final List<String> args = ((NatgwGateway)known.get(name)).runArguments(0);
            assertFalse(args.contains("--offload"), name + " runs with natgw's default: " + args);
        }
        assertThrows(IllegalArgumentException.class, () -> Implementations.select(
            List.of("natgw-reserve-no-offload"), List.of(), null, true), "not a DNAT implementation");
    }

    @Test
    void shouldJudgeEachTunRowAgainstNulltunOfItsOwnOffloadMode()
    {
        final Map<String, Implementation> known = Implementations.known(Path.of("/x/nulltun"));
        assertEquals("nulltun-offload", known.get("natgw-reserve").sameModeTun());
        assertEquals("nulltun-offload", known.get("natgw-kernel-no-clash").sameModeTun());
        assertEquals("nulltun", known.get("natgw-reserve-no-offload").sameModeTun());
        assertEquals("nulltun", known.get("nulltun").sameModeTun());
        assertEquals("nulltun-offload", known.get("nulltun-offload").sameModeTun());
        assertNull(known.get("kernel-masq").sameModeTun());
        assertNull(known.get("kernel-forward").sameModeTun());
        assertNull(known.get("kernel-dnat").sameModeTun());
    }

    @Test
    void shouldRunNulltunWithTheVnetHeaderOnlyForTheOffloadRow()
    {
        assertEquals(List.of("-q", "2", "ngw0"), new NullTun(Path.of("/x/nulltun"), false).arguments(2));
        assertEquals(List.of("-v", "-q", "2", "ngw0"), new NullTun(Path.of("/x/nulltun"), true).arguments(2));
    }

    @Test
    void shouldNoteTheOffloadsNatgwSaysItGotAtStart()
    {
        assertEquals("csum,tso4,tso6,tso_ecn,uso4,uso6", NatgwGateway.offloads(List.of("natgw: warming up",
            "natgw: running on ngw0 with 2 queue(s), offloads csum,tso4,tso6,tso_ecn,uso4,uso6, pool 10.77.2.100, " +
            "port strategy reserve, conntrack max 262144")));
        assertEquals("off", NatgwGateway.offloads(List.of("natgw: running on ngw0 with 2 queue(s), offloads off, " +
            "pool 10.77.2.100")));
        assertNull(NatgwGateway.offloads(List.of("natgw: running on ngw0 with 2 queue(s), pool 10.77.2.100")),
            "a build before --offload");
    }

    @Test
    void shouldKnowEveryScenarioAndWhichNeedDnat()
    {
        for (final String name : Scenarios.NAMES)
        {
            assertEquals(name, Scenarios.byName(name).name());
            assertEquals(List.of("service-connect", "dns-a-aaaa", "rollout").contains(name),
                Scenarios.byName(name).dnat(), name);
        }
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> Scenarios.byName("dns"));
        assertTrue(e.getMessage().contains("dns-a-aaaa"), e.getMessage());
    }

    @Test
    void shouldCountTheFragmentsADatagramBecomesAtTheLabsMtu()
    {
        assertEquals(3, FragmentsScenario.fragmentsPerDatagram(3000)); // 3008 bytes of UDP: 1480 + 1480 + 48
        assertEquals(14, FragmentsScenario.fragmentsPerDatagram(20000));
        assertEquals(2, FragmentsScenario.fragmentsPerDatagram(1473));
        final BenchOptions options = new BenchOptions();
        options.fragmentPayload = 1472;
        assertThrows(IllegalArgumentException.class, () -> FragmentsScenario.validate(options), "one fragment: not fragmented");
    }

    @Test
    void shouldReadThroughputAndRetransmitsOfParallelFlowsFromIperfJson() throws Exception
    {
        // iperf3 3.12 -P 4 -J on loopback; the retransmits (none on loopback) set by hand, the sum as iperf3 gives it
        final String json;
        try (InputStream in = ScenarioLogicTest.class.getResourceAsStream("/natgw/perf/iperf3-3.12-P4.json"))
        {
            json = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        final double[] result = ThroughputScenario.parseIperf(json);
        assertEquals(800292564.41404, result[0], 1e-3, "received, summed over the 4 flows");
        assertEquals(6, result[1], "sender's retransmits summed over the 4 flows");
    }

    @Test
    void shouldNameTheFiguresOfEveryTcpTestByItsFlowCount()
    {
        final BenchOptions options = new BenchOptions();
        assertEquals(List.of("tcp1_gbps", "tcp4_gbps", "udp_rx_kpps", "udp_pdr_kpps", "uso_gbps"), new ThroughputScenario()
            .figures(options).stream().map(ScenarioResult.Figure::value).toList());
        options.flows = List.of(8);
        options.usoSegment = 0;
        assertEquals(List.of("TCP 8 flows", "UDP small packets", "UDP small, <= 0.5 % loss"), new ThroughputScenario()
            .figures(options).stream().map(ScenarioResult.Figure::label).toList());
        options.udpTrials = 0;
        options.udpLossPercent = 1;
        assertEquals(List.of("TCP 8 flows", "UDP small packets"), new ThroughputScenario().figures(options).stream()
            .map(ScenarioResult.Figure::label).toList());
        assertEquals("tcp8_retransmits", ThroughputScenario.tcpValue(8, "retransmits"));
    }

    @Test
    void shouldRefuseRepeatedFlowCountsAndSegmentsBeyondTheMtu()
    {
        final BenchOptions options = new BenchOptions();
        ThroughputScenario.validate(options);
        options.flows = List.of(1, 1);
        assertThrows(IllegalArgumentException.class, () -> ThroughputScenario.validate(options));
        options.flows = List.of(0);
        assertThrows(IllegalArgumentException.class, () -> ThroughputScenario.validate(options));
        options.flows = List.of(4);
        options.usoSegment = 1473;
        assertThrows(IllegalArgumentException.class, () -> ThroughputScenario.validate(options));
        options.usoSegment = 0;
        ThroughputScenario.validate(options);
    }

    @Test
    void shouldRefuseAPacedSearchWithoutTrialsItCanRun()
    {
        final BenchOptions options = new BenchOptions();
        options.udpTrials = -1;
        assertThrows(IllegalArgumentException.class, () -> ThroughputScenario.validate(options));
        options.udpTrials = 0;
        ThroughputScenario.validate(options);
        options.udpLossPercent = 100;
        assertThrows(IllegalArgumentException.class, () -> ThroughputScenario.validate(options));
        options.udpLossPercent = Double.NaN;
        assertThrows(IllegalArgumentException.class, () -> ThroughputScenario.validate(options));
        options.udpLossPercent = 0;
        options.udpTrialS = 0;
        assertThrows(IllegalArgumentException.class, () -> ThroughputScenario.validate(options));
    }

    @Test
    void shouldTakeTheSlowestPacedSendersTimeAsTheTrialsDuration()
    {
        final String out = "thread 0 sent 100000 in 2.001 s\nthread 1 sent 100000 in 2.250 s\n";
        assertEquals(200_000, ThroughputScenario.sent(out));
        assertEquals(2.25, ThroughputScenario.sendingSeconds(out), 1e-9);
        assertEquals(0, ThroughputScenario.sendingSeconds("usage"), 1e-9);
    }

    @Test
    void shouldCountUsoSegmentsFromServerBytesWhetherTheyArriveCutOrWhole()
    {
        final int segment = 1400;
        final long frame = segment + ThroughputScenario.UDP_FRAME_OVERHEAD;
        assertEquals(460, ThroughputScenario.receivedSegments(460 * frame, 460, segment), "cut: one frame each");
        assertEquals(460, ThroughputScenario.receivedSegments(10 * (46L * segment + 42), 10, segment),
            "whole: 46 segments behind one set of headers");
        assertEquals(0, ThroughputScenario.receivedSegments(60, 1, segment), "an ARP packet is no segment");
    }

    @Test
    void shouldSumWhatEverySenderThreadSent()
    {
        assertEquals(1_500, ThroughputScenario.sent("thread 0 sent 1000 segments of 1400 bytes\n" +
            "thread 1 sent 500 segments of 1400 bytes\n"));
        assertEquals(64, ThroughputScenario.sent("thread 0 sent 64\n"));
        assertEquals(0, ThroughputScenario.sent("UDP_SEGMENT: Invalid argument\n"));
    }

    @Test
    void shouldParseIperfJsonAndRefuseItsErrors()
    {
        final String ok = "{\"end\":{\"sum_sent\":{\"retransmits\":12},\"sum_received\":{\"bits_per_second\":9.5e9}}}";
        assertEquals(9.5e9, ThroughputScenario.parseIperf(ok)[0]);
        assertEquals(12, ThroughputScenario.parseIperf(ok)[1]);
        assertTrue(Double.isNaN(ThroughputScenario.parseIperf("{\"error\":\"unable to connect\"}")[0]));
        assertTrue(Double.isNaN(ThroughputScenario.parseIperf("")[0]));
    }

    @Test
    void shouldListWhatWasAddedToTheGatewayAndNothingElse()
    {
        final GatewayState before = new GatewayState(Set.of("lo", "gi", "go"), Set.of("0: from all lookup local"),
            Set.of("10.77.2.0/24 dev go"), Set.of(), Set.of());
        final GatewayState after = new GatewayState(Set.of("lo", "gi", "go", "ngw0"),
            Set.of("0: from all lookup local", "20039: from all iif gi lookup 20039"),
            Set.of("10.77.2.0/24 dev go"), Set.of("10.77.2.100 dev go proxy"), Set.of());
        assertEquals(List.of("link ngw0", "rule 20039: from all iif gi lookup 20039",
            "proxy neighbour 10.77.2.100 dev go proxy"), after.leftoversSince(before));
        assertEquals(List.of(), before.leftoversSince(before));
    }

    private static List<String> names(final List<Implementation> impls)
    {
        return impls.stream().map(Implementation::name).toList();
    }
}
