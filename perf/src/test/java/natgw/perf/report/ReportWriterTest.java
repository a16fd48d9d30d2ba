package natgw.perf.report;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import natgw.perf.bench.ImplResult;
import natgw.perf.bench.ScenarioResult;
import natgw.perf.load.LoadResult;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReportWriterTest
{
    static final ReportWriter.RunInfo INFO = new ReportWriter.RunInfo("natgw bench: test", "natgw bench test",
        Map.of("Linux", "6.18"), Instant.parse("2026-01-01T00:00:00Z"));

    /** A storm-like result: kernel-masq with two 1 s stalls, natgw-reserve without, one unavailable. */
    static ScenarioResult storm()
    {
        final ImplResult kernel = impl("kernel-masq", 30, 2, Map.of("insert_failed", 2L, "drop", 2L,
            "clash_resolve", 0L));
        final ImplResult natgw = impl("natgw-reserve", 45, 0, Map.of("insert_failed", 0L, "drop", 0L,
            "clash_resolve", 0L, "port_search_attempts", 7L));
        final ImplResult missing = new ImplResult("nulltun", "ceiling");
        missing.markUnavailable("nulltun not found at /nope");
        natgw.note("natgw left behind after SIGTERM: link ngw0");
        final Map<String, String> throughput = new LinkedHashMap<>();
        throughput.put("kernel-masq", "-");
        throughput.put("natgw-reserve", "-");
        return new ScenarioResult("connect-storm", "storm <test>", List.of("connect"), List.of(kernel, natgw, missing),
            Map.of("rounds", 10), List.of("entries", "insert_failed"), Instant.parse("2026-01-01T00:00:00Z"), 3.0,
            throughput);
    }

    static ImplResult impl(final String name, final long medianUs, final int stalls, final Map<String, Long> counters)
    {
        final Histogram h = LoadResult.newHistogram();
        for (int i = 0; i < 1000; i++)
        {
            h.recordValue((medianUs / 2 + i * medianUs / 1000) * 1000);
        }
        for (int i = 0; i < stalls; i++)
        {
            h.recordValue(1_020_000_000L);
        }
        final ImplResult result = new ImplResult(name, name + " description");
        result.add(0, new LoadResult().histogram("connect", h).count("stalls", stalls).count("errors", 0), counters);
        return result;
    }

    @Test
    void shouldWriteOneRowPerImplementationThatRan()
    {
        final List<ReportWriter.Row> rows = ReportWriter.rows(storm(), "connect");
        assertEquals(List.of("kernel-masq", "natgw-reserve"), rows.stream().map(ReportWriter.Row::impl).toList());
        assertEquals(2, rows.get(0).stalls());
        assertEquals(2L, rows.get(0).insertFailed());
        assertEquals(0L, rows.get(1).drop());
        assertEquals(1.0, rows.get(0).p50Ratio(), 1e-9);
        assertTrue(rows.get(1).p50Ratio() > 1.3, "natgw's median is 1.5x the baseline's");
        assertEquals(1.02e6, rows.get(0).latency().maxUs(), 1e3);
    }

    @Test
    void shouldWriteMarkdownTableWithAllColumns()
    {
        final String md = ReportWriter.markdown(INFO, List.of(storm()));
        assertTrue(md.contains("| implementation | n | p50 | p99 | p99.9 | p99.99 | max | stalls ≥1 s | errors | " +
            "insert_failed | drop | TUN drops | clash_resolve | throughput | p50 vs base |"), md);
        assertEquals(1, count(md, "\\| kernel-masq \\| 1002 \\|"), md);
        assertEquals(1, count(md, "\\| natgw-reserve \\| 1000 \\|"), md);
        assertTrue(md.contains("| 1.02 s |"), md);
        assertTrue(md.contains("**Not run:** nulltun not found"), md);
        assertTrue(md.contains("note: natgw left behind"), md);
    }

    @Test
    void shouldWriteSelfContainedHtmlWithOneSvgPerPlotAndOneLinePerImplementation()
    {
        final String html = ReportWriter.html(INFO, List.of(storm()));
        assertEquals(1, count(html, "<svg "), "one latency metric, one plot");
        assertEquals(2, count(html, "<polyline class=\"series\""));
        assertTrue(html.contains("data-impl=\"kernel-masq\""));
        assertTrue(html.contains("storm &lt;test&gt;"), "text is escaped");
        assertFalse(html.contains("<script src") || html.contains("<link ") || html.contains("http://cdn"),
            "no external resources");
        assertEquals(2, count(html, "<tr data-impl="), "table row per implementation that ran");
    }

    @Test
    void shouldDrawBarsForThroughputScenarios()
    {
        final ImplResult a = new ImplResult("kernel-forward", "fwd");
        a.add(0, new LoadResult().value("tcp_gbps", 10.5).value("udp_rx_kpps", 150), Map.of());
        final ImplResult b = new ImplResult("natgw-reserve", "natgw");
        b.add(0, new LoadResult().value("tcp_gbps", 0.8).value("udp_rx_kpps", 90), Map.of("drop", 0L));
        final ScenarioResult throughput = new ScenarioResult("throughput", "t", List.of(), List.of(a, b), Map.of(),
            List.of(), Instant.now(), 1, Map.of("kernel-forward", "10.50 Gbit/s TCP", "natgw-reserve", "0.80 Gbit/s"));
        final String html = ReportWriter.html(INFO, List.of(throughput));
        assertEquals(2, count(html, "<svg "), "TCP and UDP bar charts");
        assertEquals(4, count(html, "<rect class=\"bar\""));
        final String table = ReportWriter.terminalTable(throughput);
        assertTrue(table.contains("10.50 Gbit/s TCP"), table);
        assertFalse(table.contains("p99"), "no latency columns without a latency metric");
    }

    @Test
    void shouldShowTheScenariosOwnCountsBeforeThroughputAndQuoteRatiosAgainstKernelDnat()
    {
        final ImplResult natgw = impl("natgw-kernel-no-clash", 90, 0, Map.of("insert_failed", 3L, "drop", 3L));
        natgw.add(1, new LoadResult().count("lost", 3).count("late", 0).count("split", 0), Map.of());
        final ImplResult kernel = impl("kernel-dnat", 30, 0, Map.of("insert_failed", 5L, "drop", 0L,
            "clash_resolve", 5L));
        kernel.add(1, new LoadResult().count("lost", 0).count("late", 0).count("split", 5), Map.of());
        final ScenarioResult dns = new ScenarioResult("dns-a-aaaa", "dns", List.of("connect"), List.of(natgw, kernel),
            Map.of(), List.of(), Instant.now(), 1, Map.of(), List.of(new ScenarioResult.Column("lost", "lost"),
            new ScenarioResult.Column("late", "late"), new ScenarioResult.Column("split", "split")));
        final List<ReportWriter.Row> rows = ReportWriter.rows(dns, "connect");
        assertEquals(List.of(3L, 0L, 0L), rows.get(0).extras());
        assertEquals(3.0, rows.get(0).p50Ratio(), 0.1, "against kernel-dnat, not the first row");
        final String md = ReportWriter.markdown(INFO, List.of(dns));
        assertTrue(md.contains("| clash_resolve | lost | late | split | throughput | p50 vs base |"), md);
        assertTrue(md.contains("| 5 | 0 | 0 | 5 | - | 1.00x |"), md);
        final String html = ReportWriter.html(INFO, List.of(dns));
        assertTrue(html.contains("<th>split</th><th>throughput</th>"), html);
        assertTrue(html.contains("<td class=\"bad\">3</td><td>0</td><td>0</td><td class=\"t\">-</td>"), html);
        final String table = ReportWriter.terminalTable(dns);
        assertTrue(table.lines().anyMatch(l -> l.contains("lost") && l.contains("split")), table);
    }

    @Test
    void shouldWriteAllFilesWithParsableSummary(@TempDir final Path dir) throws Exception
    {
        final ReportWriter.WrittenFiles files = ReportWriter.write(dir, INFO, List.of(storm()));
        assertEquals(2, files.hgrm().size());
        final String hgrm = Files.readString(dir.resolve("connect-storm.kernel-masq.connect.hgrm"));
        assertTrue(hgrm.contains("Value     Percentile TotalCount 1/(1-Percentile)"), hgrm);
        assertTrue(hgrm.matches("(?s).*#\\[Max     = +10[12][0-9]{4}\\.[0-9]+,.*"), "microseconds in the .hgrm: " + hgrm);
        final JsonNode json = new ObjectMapper().readTree(files.json().toFile());
        final JsonNode impls = json.path("scenarios").path(0).path("impls");
        assertEquals("kernel-masq", impls.path(0).path("name").asText());
        assertEquals(2, impls.path(0).path("conntrack").path("insert_failed").asLong());
        assertEquals(1002, impls.path(0).path("latency_us").path("connect").path("count").asLong());
        assertFalse(impls.path(2).path("ran").asBoolean());
        assertTrue(Files.readString(files.html()).startsWith("<!DOCTYPE html>"));
        assertTrue(Files.exists(files.markdown()));
    }

    static int count(final String text, final String regex)
    {
        final Matcher m = Pattern.compile(regex).matcher(text);
        int n = 0;
        while (m.find())
        {
            n++;
        }
        return n;
    }
}
