package natgw.perf.bench;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import natgw.perf.lab.Lab;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
        assertEquals(List.of("run", "--tun", "ngw0", "--inside", "10.77.1.0/24", "--snat", "10.77.2.100", "--steer",
            "gi", "--port-strategy", "reserve"), new NatgwGateway("reserve").runArguments(0));
        assertEquals(List.of("run", "--tun", "ngw0", "--inside", "10.77.1.0/24", "--snat", "10.77.2.100", "--steer",
            "gi", "--port-strategy", "kernel", "--queues", "2"), new NatgwGateway("kernel").runArguments(2));
    }

    @Test
    void shouldMasqueradeOnTheOutsideInterfaceWithTheGivenFlags()
    {
        final String plain = new KernelMasquerade("kernel-masq", "").ruleset();
        assertTrue(plain.contains("ip saddr " + Lab.INSIDE_CIDR + " oifname \"go\" masquerade\n"), plain);
        final String fully = new KernelMasquerade("kernel-masq-fully-random", "fully-random").ruleset();
        assertTrue(fully.contains("masquerade fully-random\n"), fully);
        assertTrue(fully.contains("type nat hook postrouting priority srcnat"), fully);
    }

    @Test
    void shouldSelectScenarioDefaultsAllOrNamedImplementations()
    {
        assertEquals(List.of("kernel-masq", "natgw-reserve"), names(Implementations.select(List.of(),
            List.of("kernel-masq", "natgw-reserve"), null)));
        assertEquals(List.of("kernel-masq", "nulltun"), names(Implementations.select(List.of("kernel-masq"),
            List.of(), Path.of("/x/nulltun"))));
        assertEquals(9, Implementations.select(List.of("all"), List.of(), Path.of("/x/nulltun")).size());
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> Implementations.select(List.of("nulltun"), List.of(), null));
        assertTrue(e.getMessage().contains("--nulltun"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Implementations.select(List.of("iptables"), List.of(),
            null));
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
