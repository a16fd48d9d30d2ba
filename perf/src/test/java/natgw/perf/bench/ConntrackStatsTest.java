package natgw.perf.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fixtures captured on the 2-core Linux 6.18 VM right after 4,000 storm connections through nftables
 * {@code masquerade}: /proc/net/stat/nf_conntrack of the gateway namespace and {@code conntrack -S} at the same moment.
 */
class ConntrackStatsTest
{
    static String fixture(final String name) throws IOException
    {
        try (InputStream in = ConntrackStatsTest.class.getResourceAsStream("/natgw/perf/" + name))
        {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void shouldReadColumnNamesOfThisKernel() throws IOException
    {
        assertEquals(List.of("entries", "clashres", "found", "new", "invalid", "ignore", "delete", "chainlength",
            "insert", "insert_failed", "drop", "early_drop", "icmp_error", "expect_new", "expect_create",
            "expect_delete", "search_restart"),
            ConntrackStats.procColumns(fixture("proc-net-stat-nf_conntrack-linux-6.18.txt")));
    }

    @Test
    void shouldParseHexPerCpuRowsUnderConntrackNames() throws IOException
    {
        final List<Map<String, Long>> rows =
            ConntrackStats.parseProcRows(fixture("proc-net-stat-nf_conntrack-linux-6.18.txt"));
        assertEquals(2, rows.size(), "one row per CPU");
        assertEquals(0x973L, rows.get(0).get("found"));
        assertEquals(0x6b2L, rows.get(1).get("found"));
        assertEquals(10L, rows.get(0).get("insert_failed"));
        assertEquals(11L, rows.get(1).get("drop"));
        assertTrue(rows.get(0).containsKey("clash_resolve"), "clashres is clash_resolve");
        assertTrue(rows.get(0).containsKey("error"), "icmp_error is error");
        assertTrue(rows.get(0).containsKey("chaintoolong"), "chainlength is chaintoolong");
    }

    @Test
    void shouldSumCpusButTakeEntriesOnce() throws IOException
    {
        final Map<String, Long> sum = ConntrackStats.parseProc(fixture("proc-net-stat-nf_conntrack-linux-6.18.txt"));
        assertEquals(4002L, sum.get("entries"), "0xfa2 on every row is the table size, not per CPU");
        assertEquals(21L, sum.get("insert_failed"));
        assertEquals(21L, sum.get("drop"));
        assertEquals(0x973L + 0x6b2L, sum.get("found"));
        assertEquals(0L, sum.get("clash_resolve"));
    }

    @Test
    void shouldAgreeWithConntrackToolOnTheSameMoment() throws IOException
    {
        final Map<String, Long> proc = ConntrackStats.parseProc(fixture("proc-net-stat-nf_conntrack-linux-6.18.txt"));
        final Map<String, Long> tool = ConntrackStats.parseStatLines(fixture("conntrack-S-linux-6.18.txt"));
        for (final String name : List.of("found", "invalid", "insert", "insert_failed", "drop", "early_drop",
            "error", "search_restart", "clash_resolve", "chaintoolong"))
        {
            assertEquals(proc.get(name), tool.get(name), name);
        }
    }

    @Test
    void shouldParseNatgwStatLinesWithExtraCounters()
    {
        final String text = "cpu=0 found=3 invalid=0 insert=1 insert_failed=0 drop=0 early_drop=0 search_restart=0 " +
            "clash_resolve=0 port_search_attempts=1 pool_exhausted=0 rx_packets=4\n" +
            "cpu=1 found=2 invalid=0 insert=7 insert_failed=2 drop=1 early_drop=0 search_restart=0 " +
            "clash_resolve=3 port_search_attempts=9 pool_exhausted=0 rx_packets=10\n";
        final Map<String, Long> sum = ConntrackStats.parseStatLines(text);
        assertEquals(5L, sum.get("found"));
        assertEquals(8L, sum.get("insert"));
        assertEquals(2L, sum.get("insert_failed"));
        assertEquals(1L, sum.get("drop"));
        assertEquals(3L, sum.get("clash_resolve"));
        assertEquals(10L, sum.get("port_search_attempts"));
        assertEquals(14L, sum.get("rx_packets"));
        assertTrue(!sum.containsKey("cpu"), "cpu is a label");
    }

    @Test
    void shouldIgnoreLinesThatAreNotPerCpuCounters()
    {
        assertEquals(Map.of(), ConntrackStats.parseStatLines("natgw: no gateway running\n\n"));
        assertEquals(Map.of("drop", 4L), ConntrackStats.parseStatLines("header\ncpu=0 drop=4 state=x\n"));
    }

    @Test
    void shouldDiffCountersButKeepEntriesAsLevel()
    {
        final Map<String, Long> before = Map.of("entries", 10L, "drop", 2L, "found", 5L);
        final Map<String, Long> after = new java.util.LinkedHashMap<>(Map.of("entries", 7L, "drop", 5L, "found", 5L,
            "insert_failed", 1L));
        final Map<String, Long> diff = ConntrackStats.diff(after, before);
        assertEquals(7L, diff.get("entries"));
        assertEquals(3L, diff.get("drop"));
        assertEquals(0L, diff.get("found"));
        assertEquals(1L, diff.get("insert_failed"));
    }

    @Test
    void shouldRefuseRowsThatDoNotMatchTheHeader()
    {
        assertThrows(IllegalArgumentException.class, () -> ConntrackStats.parseProcRows("entries found\n00000001\n"));
    }
}
