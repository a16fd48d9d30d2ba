package natgw.perf.bench;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

import natgw.tun.lab.Lab;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The DNAT scenarios' parts that need no namespace: services, rulesets, implementation choice, rollout counts. */
class ServiceScenarioLogicTest
{
    static final LabService WEB = new LabService("tcp", Lab.VIP_ADDR, 7000,
        List.of("10.77.2.11:7000", "10.77.2.12:7000", "10.77.2.13:7000"));
    static final LabService DNS = new LabService("udp", Lab.VIP_ADDR, 53, List.of("10.77.2.11:53", "10.77.2.12:53"));

    @Test
    void shouldNameBackendsAfterTheVipOnTheServerSubnet()
    {
        assertEquals("10.77.2.11", Lab.backendAddress(0));
        assertEquals("10.77.2.26", Lab.backendAddress(Lab.MAX_BACKENDS - 1));
        assertThrows(IllegalArgumentException.class, () -> Lab.backendAddress(Lab.MAX_BACKENDS));
        assertFalse(Lab.backendAddress(Lab.MAX_BACKENDS - 1).equals(Lab.POOL_ADDR));
    }

    @Test
    void shouldGiveNatgwTheServiceAsItsFlagSpellsIt()
    {
        assertEquals("tcp:10.77.3.10:7000", WEB.key());
        assertEquals("tcp:10.77.3.10:7000=10.77.2.11:7000,10.77.2.12:7000,10.77.2.13:7000", WEB.natgwSpec());
        assertEquals("10.77.2.13", LabService.address("10.77.2.13:7000"));
        assertThrows(IllegalArgumentException.class, () -> new LabService("sctp", Lab.VIP_ADDR, 1, List.of("a:1")));
        assertThrows(IllegalArgumentException.class, () -> new LabService("tcp", Lab.VIP_ADDR, 1, List.of()));
    }

    @Test
    void shouldDnatRoundRobinOverTheLiveBackendsOnly()
    {
        assertEquals("ip daddr 10.77.3.10 tcp dport 7000 dnat ip to numgen inc mod 3 map " +
            "{ 0 : 10.77.2.11 . 7000, 1 : 10.77.2.12 . 7000, 2 : 10.77.2.13 . 7000 }", WEB.nftRule(Set.of()));
        assertEquals("ip daddr 10.77.3.10 tcp dport 7000 dnat ip to numgen inc mod 2 map " +
            "{ 0 : 10.77.2.11 . 7000, 1 : 10.77.2.13 . 7000 }", WEB.nftRule(Set.of("10.77.2.12:7000")));
        assertEquals("ip daddr 10.77.3.10 udp dport 53 reject",
            DNS.nftRule(Set.of("10.77.2.11:53", "10.77.2.12:53")));
        assertTrue(WEB.nftRule(Set.copyOf(WEB.backends())).endsWith("reject with tcp reset"));
    }

    @Test
    void shouldBuildTheKernelDnatTableAndReplaceItsRulesInOneTransaction()
    {
        final String table = KernelDnat.ruleset(List.of(DNS, WEB), Set.of());
        assertTrue(table.startsWith("table ip natgw_bench {\n"), table);
        assertTrue(table.contains("type nat hook prerouting priority dstnat;"), table);
        assertTrue(table.contains("    " + DNS.nftRule(Set.of()) + "\n    " + WEB.nftRule(Set.of()) + "\n"), table);
        assertTrue(table.contains("type nat hook postrouting priority srcnat; policy accept;\n" +
            "    oifname \"go\" masquerade\n"), table);
        final String drain = KernelDnat.replaceServiceRules(List.of(WEB), Set.of("10.77.2.13:7000"));
        assertEquals("flush chain ip natgw_bench prerouting\nadd rule ip natgw_bench prerouting " +
            WEB.nftRule(Set.of("10.77.2.13:7000")) + "\n", drain);
    }

    @Test
    void shouldRunNatgwWithItsServicesAndFlags()
    {
        final NatgwGateway noClash = new NatgwGateway(Implementations.NATGW_KERNEL_NO_CLASH, "kernel",
            List.of("--no-clash-resolution"));
        assertEquals(List.of("run", "--fresh", "--tun", "ngw0", "--inside", "10.77.1.0/24", "--snat", "10.77.2.100", "--steer",
            "gi", "--port-strategy", "kernel", "--no-clash-resolution", "--service", DNS.natgwSpec(), "--service",
            WEB.natgwSpec()), noClash.runArguments(0, List.of(DNS, WEB), null));
        assertEquals("natgw-kernel-no-clash", noClash.name());
        assertTrue(noClash.description().contains("--no-clash-resolution"));
    }

    @Test
    void shouldSelectDnatImplementationsOnlyForDnatScenarios()
    {
        assertEquals(Implementations.DNAT, Implementations.select(List.of("all"), List.of(), Path.of("/x/nulltun"),
            true).stream().map(Implementation::name).toList());
        assertEquals(List.of("kernel-dnat", "natgw-reserve"), Implementations.select(List.of(),
            List.of("kernel-dnat", "natgw-reserve"), Path.of("/x/nulltun"), true).stream()
            .map(Implementation::name).toList());
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> Implementations.select(List.of("kernel-masq"), List.of(), null, true));
        assertTrue(e.getMessage().contains("no DNAT"), e.getMessage());
        // the SNAT scenarios' 'all' is unchanged; the DNAT implementations can still be named there
        assertFalse(Implementations.select(List.of("all"), List.of(), null).stream()
            .anyMatch(i -> i.name().equals("kernel-dnat")));
        assertEquals(1, Implementations.select(List.of("kernel-dnat"), List.of(), null).size());
    }

    @Test
    void shouldCountSynsToEveryBackendPerPhase()
    {
        final String ruleset = SynCounters.ruleset(List.of("10.77.2.11", "10.77.2.12"));
        assertTrue(ruleset.contains("counter b2 { }"), ruleset);
        assertTrue(ruleset.contains("type filter hook forward priority filter;"), ruleset);
        assertTrue(ruleset.contains("oifname \"go\" ip daddr 10.77.2.12 tcp flags & (syn | ack) == syn " +
            "counter name \"b2\"\n"), ruleset);
        final String listed = "table ip natgw_bench_syn {\n\tcounter b1 {\n\t\tpackets 12 bytes 720\n\t}\n" +
            "\tcounter b2 {\n\t\tpackets 0 bytes 0\n\t}\n\tcounter b10 {\n\t\tpackets 7 bytes 420\n\t}\n}\n";
        assertEquals(Map.of(1, 12L, 2, 0L, 10, 7L), SynCounters.parse(listed));
    }

    @Test
    void shouldCountNewConnectionsToTheTakenBackendAfterEachChange()
    {
        final List<Map<Integer, Long>> snapshots = List.of(
            Map.of(1, 100L, 2, 100L, 3, 100L),
            Map.of(1, 400L, 2, 400L, 3, 400L),
            Map.of(1, 850L, 2, 850L, 3, 402L),
            Map.of(1, 1300L, 2, 1300L, 3, 402L));
        final Map<String, Long> counts = RolloutScenario.synCounts(snapshots, 3);
        assertEquals(300L, counts.get("syn_b1_before"));
        assertEquals(450L, counts.get("syn_b2_draining"));
        assertEquals(2L, counts.get("syn_b3_draining"));
        assertEquals(0L, counts.get("syn_b3_removed"));
        assertEquals(2L, counts.get("new_to_drained_after_drain"));
        assertEquals(0L, counts.get("new_to_removed_after_removal"));
        assertThrows(IllegalArgumentException.class, () -> RolloutScenario.synCounts(snapshots.subList(0, 3), 3));
    }

    @Test
    void shouldShowEachDnatScenariosProblemCountsAsColumns()
    {
        assertEquals(List.of("lost", "late", "split", "strays"), new DnsScenario().extraColumns().stream()
            .map(ScenarioResult.Column::count).toList());
        assertEquals(List.of("slow", "new_to_drained_after_drain", "new_to_removed_after_removal"),
            new RolloutScenario().extraColumns().stream().map(ScenarioResult.Column::count).toList());
        assertEquals(List.of(new ScenarioResult.Column("settle errors", "settle_errors")),
            ShortConnectionsScenario.serviceConnect().extraColumns(), "connections failed before the measured part");
        assertEquals(List.of("kernel-dnat", "natgw-reserve", "natgw-kernel", "natgw-kernel-no-clash"),
            new DnsScenario().defaultImpls());
        assertEquals(List.of("kernel-dnat", "natgw-reserve"), ShortConnectionsScenario.serviceConnect().defaultImpls());
    }
}
