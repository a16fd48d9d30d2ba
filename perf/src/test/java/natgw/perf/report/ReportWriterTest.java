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

    /** natgw against its ceiling over three blocks whose medians drift together: 1.10x, 0.90x and 1.20x within them. */
    @Test
    void shouldQuoteEachBlocksRatioAgainstTheSameModeTunBesideThePooledOne() throws Exception
    {
        final ImplResult natgw = new ImplResult("natgw-reserve", "natgw", "nulltun-offload");
        final ImplResult tun = new ImplResult("nulltun-offload", "ceiling", "nulltun-offload");
        final long[] tunMedianUs = {100, 200, 300};
        final double[] ratio = {1.10, 0.90, 1.20};
        for (int b = 0; b < 3; b++)
        {
            tun.add(b, new LoadResult().histogram("connect", connect(tunMedianUs[b], 0)), Map.of());
            natgw.add(b, new LoadResult().histogram("connect", connect(Math.round(tunMedianUs[b] * ratio[b]), 0)), Map.of());
        }
        final ScenarioResult scenario = new ScenarioResult("short-connections", "test", List.of("connect"),
            List.of(natgw, tun), Map.of("blocks", 3), List.of(), Instant.parse("2026-01-01T00:00:00Z"), 3.0, Map.of());

        final Table table = ReportWriter.blockTable(scenario, "connect");
        assertEquals(1, table.rows().size(), "the ceiling is not quoted against itself");
        final String[] row = table.rows().get(0);
        assertEquals("natgw-reserve", row[0]);
        assertEquals("nulltun-offload", row[1]);
        assertEquals("3", row[2]);
        assertEquals("p50 x same-mode TUN (lower is better)", table.header()[3]);
        assertEquals("1.10x (0.90-1.20)", row[3]);
        assertEquals("- (6 blocks needed)", row[5], "three blocks give no 95 % interval");
        assertEquals("1.10 0.90 1.20", row[6]);
        assertTrue(ReportWriter.markdown(INFO, List.of(scenario)).contains("Block by block"));
        final JsonNode byBlock = new ObjectMapper().readTree(JsonReport.json(INFO, List.of(scenario))).path("scenarios")
            .path(0).path("impls").path(0).path("ratios").path("connect.p50").path("vs_same_mode_tun_by_block");
        assertEquals(3, byBlock.size(), byBlock.toString());
        assertEquals(1.10, byBlock.path(0).asDouble(), 0.01);
        assertEquals(0.90, byBlock.path(1).asDouble(), 0.01);
        assertEquals(null, ReportWriter.blockTable(storm(), "connect"), "one block: nothing to spread");
    }

    /** Six blocks, natgw 1.02x-1.12x its ceiling in each: the median's interval lies above 1, in the table and the json. */
    @Test
    void shouldSayWhereTheBlocksMedianRatioLiesOnceSixBlocksRan() throws Exception
    {
        final ImplResult natgw = new ImplResult("natgw-reserve", "natgw", "nulltun-offload");
        final ImplResult tun = new ImplResult("nulltun-offload", "ceiling", "nulltun-offload");
        final double[] ratio = {1.08, 1.02, 1.12, 1.05, 1.04, 1.10};
        for (int b = 0; b < ratio.length; b++)
        {
            tun.add(b, new LoadResult().histogram("connect", connect(500, 0)), Map.of());
            natgw.add(b, new LoadResult().histogram("connect", connect(Math.round(500 * ratio[b]), 0)), Map.of());
        }
        final ScenarioResult scenario = new ScenarioResult("short-connections", "test", List.of("connect"),
            List.of(natgw, tun), Map.of("blocks", 6), List.of(), Instant.parse("2026-01-01T00:00:00Z"), 3.0, Map.of());

        final String[] row = ReportWriter.blockTable(scenario, "connect").rows().get(0);
        assertEquals("1.02-1.12, higher", row[5]);
        final JsonNode interval = new ObjectMapper().readTree(JsonReport.json(INFO, List.of(scenario))).path("scenarios")
            .path(0).path("impls").path(0).path("ratios").path("connect.p50").path("vs_same_mode_tun_median_interval");
        assertEquals("higher", interval.path("verdict").asText(), interval.toString());
        assertEquals(1.02, interval.path("low").asDouble(), 0.005);
        assertEquals(1.12, interval.path("high").asDouble(), 0.005);
        assertEquals(0.969, interval.path("coverage").asDouble(), 0.001);
    }

    static ImplResult impl(final String name, final long medianUs, final int stalls, final Map<String, Long> counters)
    {
        final ImplResult result = new ImplResult(name, name + " description");
        result.add(0, new LoadResult().histogram("connect", connect(medianUs, stalls)).count("stalls", stalls)
            .count("errors", 0), counters);
        return result;
    }

    /** Connect latencies spread evenly around {@code medianUs}, plus {@code stalls} of 1.02 s. */
    static Histogram connect(final long medianUs, final int stalls)
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
        return h;
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
            "insert_failed | drop | TUN drops | clash_resolve | p50 x kernel-masq (lower is better) |"), md);
        assertFalse(md.contains("| throughput |"), "no row has a throughput: no column for it");
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
        assertEquals(2, count(summaryTables(html).get(0), "<tr data-impl="), "table row per implementation that ran");
    }

    static final List<ScenarioResult.Figure> FIGURES = List.of(
        new ScenarioResult.Figure("TCP 1 flow", "tcp1_gbps", "Gbit/s"),
        new ScenarioResult.Figure("UDP small packets", "udp_rx_kpps", "kpps"));

    @Test
    void shouldDrawBarsForThroughputScenarios()
    {
        final ImplResult a = new ImplResult("kernel-forward", "fwd");
        a.add(0, new LoadResult().value("tcp1_gbps", 10.5).value("udp_rx_kpps", 150), Map.of());
        final ImplResult b = new ImplResult("natgw-reserve", "natgw");
        b.add(0, new LoadResult().value("tcp1_gbps", 0.8).value("udp_rx_kpps", 90), Map.of("drop", 0L));
        final ScenarioResult throughput = new ScenarioResult("throughput", "t", List.of(), List.of(a, b), Map.of(),
            List.of(), Instant.now(), 1, Map.of("kernel-forward", "10.50 Gbit/s TCP", "natgw-reserve", "0.80 Gbit/s"),
            List.of(), FIGURES);
        final String html = ReportWriter.html(INFO, List.of(throughput));
        assertEquals(2, count(html, "<svg "), "TCP and UDP bar charts");
        assertEquals(4, count(html, "<rect class=\"bar\""));
        final String table = ReportWriter.terminalTable(throughput);
        assertTrue(table.contains("10.50 Gbit/s TCP"), table);
        assertFalse(table.contains("p99"), "no latency columns without a latency metric");
    }

    /** A TUN-based row: natgw or nulltun, judged against {@code tun}. */
    static ImplResult tunImpl(final String name, final String tun, final long medianUs)
    {
        final ImplResult result = new ImplResult(name, name + " description", tun);
        result.add(0, new LoadResult().histogram("connect", connect(medianUs, 0)).count("stalls", 0).count("errors", 0),
            Map.of("tun_tx_dropped", 0L));
        return result;
    }

    @Test
    void shouldQuoteLatencyAgainstTheNulltunOfTheSameOffloadMode()
    {
        final ScenarioResult storm = new ScenarioResult("connect-storm", "storm", List.of("connect"), List.of(
            impl("kernel-masq", 40, 0, Map.of()),
            tunImpl("natgw-reserve", "nulltun-offload", 80),
            tunImpl("natgw-reserve-no-offload", "nulltun", 120),
            tunImpl("nulltun", "nulltun", 40),
            tunImpl("nulltun-offload", "nulltun-offload", 40)),
            Map.of(), List.of(), Instant.now(), 1, Map.of());
        final List<ReportWriter.Row> rows = ReportWriter.rows(storm, "connect");
        assertTrue(Double.isNaN(rows.get(0).tunP50Ratio()), "the kernel has no TUN");
        assertEquals(2.0, rows.get(1).tunP50Ratio(), 0.1, "natgw against nulltun-offload");
        assertEquals(3.0, rows.get(2).tunP50Ratio(), 0.1, "natgw --offload off against nulltun");
        assertEquals(3.0, rows.get(2).tunP99Ratio(), 0.1);
        assertEquals(1.0, rows.get(3).tunP50Ratio(), 1e-9);
        assertEquals(3.0, rows.get(2).p50Ratio(), 0.1, "and against kernel-masq as before");
        final String md = ReportWriter.markdown(INFO, List.of(storm));
        assertTrue(md.contains("| clash_resolve | p50 x kernel-masq (lower is better) | " +
            "p50 x same-mode TUN (lower is better) | p99 x same-mode TUN (lower is better) |"), md);
        assertTrue(md.contains("| 1.00x | - | - |"), "kernel-masq's row: " + md);
        assertFalse(ReportWriter.markdown(INFO, List.of(storm())).contains("x same-mode TUN (lower is better) |"),
            "no nulltun ran: no columns for it");
    }

    /** A cost (CPU per connection) beside a rate: each ratio column says which way is better for its figure. */
    @Test
    void shouldSayThatACostFigureIsBetterLower()
    {
        final ImplResult kernel = new ImplResult("kernel-masq", "k");
        kernel.add(0, new LoadResult().value("closed.conn_per_s", 20_000).value("closed.machine_cpu_us_per_conn", 90), Map.of());
        final ImplResult natgw = new ImplResult("natgw-reserve", "n");
        natgw.add(0, new LoadResult().value("closed.conn_per_s", 10_000).value("closed.machine_cpu_us_per_conn", 180), Map.of());
        final ScenarioResult scenario = new ScenarioResult("short-connections", "s", List.of(), List.of(kernel, natgw),
            Map.of(), List.of(), Instant.now(), 1, Map.of(), List.of(), List.of(
                new ScenarioResult.Figure("closed loop", "closed.conn_per_s", "conn/s"),
                new ScenarioResult.Figure("closed loop, machine CPU per connection", "closed.machine_cpu_us_per_conn", "us", true)));

        final Table table = ReportWriter.figuresTable(scenario);
        assertEquals(List.of("implementation", "closed loop conn/s", "x kernel-masq (higher is better)",
            "closed loop, machine CPU per connection us", "x kernel-masq (lower is better)"), List.of(table.header()));
        assertEquals(List.of("natgw-reserve", "10000", "0.50x", "180", "2.00x"), List.of(table.rows().get(1)));
        assertTrue(ReportWriter.html(INFO, List.of(scenario)).contains("machine CPU per connection (median of segments, lower is better)"));
    }

    @Test
    void shouldTabulateFiguresAgainstKernelMasqAndTheSameModeNulltun() throws Exception
    {
        final ImplResult kernel = new ImplResult("kernel-masq", "k");
        kernel.add(0, new LoadResult().value("tcp1_gbps", 20.0).value("udp_rx_kpps", 400), Map.of());
        final ImplResult natgw = new ImplResult("natgw-reserve", "n", "nulltun-offload");
        natgw.add(0, new LoadResult().value("tcp1_gbps", 9.0).value("udp_rx_kpps", 200), Map.of());
        final ImplResult natgwOff = new ImplResult("natgw-reserve-no-offload", "n", "nulltun");
        natgwOff.add(0, new LoadResult().value("tcp1_gbps", 1.0).value("udp_rx_kpps", 200), Map.of());
        final ImplResult tunOffload = new ImplResult("nulltun-offload", "t", "nulltun-offload");
        tunOffload.add(0, new LoadResult().value("tcp1_gbps", 10.0).value("udp_rx_kpps", 160), Map.of());
        final ImplResult tun = new ImplResult("nulltun", "t", "nulltun");
        tun.add(0, new LoadResult().value("tcp1_gbps", 2.0).value("udp_rx_kpps", 250), Map.of());
        final ScenarioResult throughput = new ScenarioResult("throughput", "t", List.of(),
            List.of(kernel, natgw, natgwOff, tunOffload, tun), Map.of(), List.of(), Instant.now(), 1, Map.of(),
            List.of(), FIGURES);

        final String md = ReportWriter.markdown(INFO, List.of(throughput));
        assertTrue(md.contains("| implementation | same-mode TUN | TCP 1 flow Gbit/s | x kernel-masq (higher is " +
            "better) | x same-mode TUN (higher is better) | UDP small packets kpps | x kernel-masq (higher is " +
            "better) | x same-mode TUN (higher is better) |"), md);
        assertTrue(md.contains("| natgw-reserve | nulltun-offload | 9.00 | 0.45x | 0.90x | 200 | 0.50x | 1.25x |"), md);
        assertTrue(md.contains("| natgw-reserve-no-offload | nulltun | 1.00 | 0.05x | 0.50x | 200 | 0.50x | 0.80x |"),
            md);
        assertTrue(md.contains("| kernel-masq | - | 20.0 | 1.00x | - | 400 | 1.00x | - |"), md);
        assertTrue(ReportWriter.terminalTable(throughput).contains("medians and ratios"));
        assertTrue(ReportWriter.html(INFO, List.of(throughput)).contains("<th>x <span class=\"nw\">same-mode</span> " +
            "TUN<br><span class=\"sense\">(higher is better)</span></th>"));

        final JsonNode impls = new ObjectMapper().readTree(JsonReport.json(INFO, List.of(throughput)))
            .path("scenarios").path(0).path("impls");
        assertEquals("nulltun-offload", impls.path(1).path("same_mode_tun").asText());
        assertEquals(0.9, impls.path(1).path("ratios").path("tcp1_gbps").path("vs_same_mode_tun").asDouble(), 1e-9);
        assertEquals(0.45, impls.path(1).path("ratios").path("tcp1_gbps").path("vs_base").asDouble(), 1e-9);
        assertFalse(impls.path(0).path("ratios").path("tcp1_gbps").has("vs_same_mode_tun"));
        assertFalse(impls.path(0).has("same_mode_tun"));
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
        assertTrue(md.contains("| clash_resolve | lost | late | split | p50 x kernel-dnat (lower is better) |"), md);
        assertTrue(md.contains("| 5 | 0 | 0 | 5 | 1.00x |"), md);
        final String html = ReportWriter.html(INFO, List.of(dns));
        assertTrue(html.contains("<th>late</th><th>split</th><th>p50 x"), html);
        assertEquals(1, count(html, "<td class=\"bad\">3</td><td>0</td><td>0</td><td>3\\.[0-9]{2}x</td>"), html);
        final String table = ReportWriter.terminalTable(dns);
        assertTrue(table.lines().anyMatch(l -> l.contains("lost") && l.contains("split")), table);
    }

    /** Each {@code data-impl} element's colour attribute ({@code stroke} of a plot line, {@code fill} of a bar). */
    static Map<String, java.util.Set<String>> colours(final String html, final String element, final String attribute)
    {
        final Map<String, java.util.Set<String>> colours = new java.util.TreeMap<>();
        final Matcher m = Pattern.compile("<" + element + " [^>]*data-impl=\"([^\"]+)\"[^>]* " + attribute +
            "=\"([^\"]+)\"").matcher(html);
        while (m.find())
        {
            colours.computeIfAbsent(m.group(1), k -> new java.util.TreeSet<>()).add(m.group(2));
        }
        return colours;
    }

    @Test
    void shouldGiveEachImplementationOneColourInEveryPlotChartAndTable()
    {
        // short-connections lists its implementations in another order than connect-storm, and one fewer
        final String html = ReportWriter.html(INFO, List.of(ReportSamples.connectStorm(),
            ReportSamples.shortConnections(), ReportSamples.throughput(), ReportSamples.dns()));
        final Map<String, java.util.Set<String>> lines = colours(html, "polyline", "stroke");
        final Map<String, java.util.Set<String>> bars = colours(html, "rect", "fill");
        final Map<String, java.util.Set<String>> swatches = new java.util.TreeMap<>();
        final Matcher m = Pattern.compile("<tr data-impl=\"([^\"]+)\"><td><span class=\"key\" " +
            "style=\"background:([^\"]+)\">").matcher(html);
        while (m.find())
        {
            swatches.computeIfAbsent(m.group(1), k -> new java.util.TreeSet<>()).add(m.group(2));
        }
        assertEquals(java.util.Set.of("kernel-masq", "kernel-dnat", "natgw-reserve", "natgw-reserve-no-offload",
            "natgw-kernel-no-clash", "nulltun", "nulltun-offload"), lines.keySet());
        assertEquals(java.util.Set.of("kernel-masq", "natgw-reserve", "natgw-reserve-no-offload", "nulltun",
            "nulltun-offload"), bars.keySet());
        final Map<String, String> colour = new java.util.TreeMap<>();
        for (final Map<String, java.util.Set<String>> found : List.of(lines, bars, swatches))
        {
            found.forEach((impl, set) ->
            {
                assertEquals(1, set.size(), impl + " has one colour everywhere: " + set);
                assertEquals(colour.computeIfAbsent(impl, k -> set.iterator().next()), set.iterator().next(),
                    impl + ": the same colour in the plots, the bar charts and the tables");
            });
        }
        assertEquals(colour.size(), new java.util.HashSet<>(colour.values()).size(),
            "no two implementations share a colour: " + colour);
    }

    @Test
    void shouldNameTheReferenceAndWhichWayIsBetterInEveryRatioHeader()
    {
        final List<String> latency = List.of(ReportWriter.summaryTable(ReportSamples.connectStorm(), "connect")
            .header());
        assertTrue(latency.containsAll(List.of("p50 x kernel-masq (lower is better)",
            "p50 x same-mode TUN (lower is better)", "p99 x same-mode TUN (lower is better)")), latency.toString());
        assertTrue(List.of(ReportWriter.summaryTable(ReportSamples.dns(), "lookup").header())
            .contains("p50 x kernel-dnat (lower is better)"));
        final List<String> figures = List.of(ReportWriter.figuresTable(ReportSamples.throughput()).header());
        assertEquals(4, figures.stream().filter("x kernel-masq (higher is better)"::equals).count(), figures.toString());
        assertEquals(4, figures.stream().filter("x same-mode TUN (higher is better)"::equals).count());
        for (final ScenarioResult scenario : List.of(ReportSamples.connectStorm(), ReportSamples.shortConnections(),
            ReportSamples.throughput(), ReportSamples.dns()))
        {
            final String md = ReportWriter.markdown(INFO, List.of(scenario));
            for (final String cell : md.split("\\|"))
            {
                if (cell.strip().matches("(p\\d+ )?x .*"))
                {
                    assertTrue(cell.strip().matches("(p5\\d+|p99)? ?x \\S+( TUN)? \\((lower|higher) is better\\)"),
                        "a ratio header says what it is over and which way is better: '" + cell + "'");
                }
            }
        }
        final String terminal = ReportWriter.terminalTable(ReportSamples.throughput());
        assertTrue(terminal.contains("x kernel-masq") && terminal.contains("(higher is") &&
            terminal.contains("better)"), terminal);
    }

    @Test
    void shouldPrintWholeNumberColumnsWithoutDecimals()
    {
        final ScenarioResult throughput = ReportSamples.throughput();
        final Table values = ReportWriter.valuesTable(throughput);
        final List<String> header = List.of(values.header());
        final String[] natgw = values.rows().get(1);
        assertEquals("natgw-reserve", natgw[0]);
        assertEquals("0", natgw[header.indexOf("tcp1_retransmits")], "no retransmission, not 0.00");
        assertEquals("6442", natgw[header.indexOf("tcp4_retransmits")]);
        assertEquals("163", values.rows().get(0)[header.indexOf("tcp4_retransmits")], "not 163.0");
        assertEquals("7.03", natgw[header.indexOf("tcp1_gbps")], "a rate keeps its decimals");
        assertEquals("0.35", natgw[header.indexOf("udp_delivered")], "a fraction keeps its decimals");

        final ImplResult twice = new ImplResult("kernel-masq", "k");
        twice.add(0, new LoadResult().value("tcp1_retransmits", 16).value("tcp1_gbps", 10.0), Map.of());
        twice.add(1, new LoadResult().value("tcp1_retransmits", 17).value("tcp1_gbps", 11.0), Map.of());
        final ScenarioResult two = new ScenarioResult("throughput", "t", List.of(), List.of(twice), Map.of(),
            List.of(), Instant.now(), 1, Map.of(), List.of(), FIGURES);
        assertEquals(List.of("kernel-masq", "16.5 [16, 17]", "10.5 [10.0, 11.0]"),
            List.of(ReportWriter.valuesTable(two).rows().get(0)), "a figure is a rate even when it comes out whole");
    }

    @Test
    void shouldRenderBackticksAsCode()
    {
        final String html = ReportWriter.html(INFO, List.of(ReportSamples.connectStorm(), ReportSamples.throughput()));
        assertTrue(html.contains("kernel nftables <code>masquerade</code> (conntrack"), html);
        assertTrue(html.contains("natgw <code>run --port-strategy reserve --offload off</code> (TUN"), html);
        assertTrue(html.contains("UDP GSO (<code>UDP_SEGMENT</code> datagrams"), "scenario descriptions too");
        assertFalse(html.contains("`"), "no backtick left in the page");
        assertTrue(ReportWriter.markdown(INFO, List.of(ReportSamples.connectStorm())).contains("`masquerade`"),
            "Markdown keeps them");
    }

    @Test
    void shouldPutEveryTableInABoxThatScrollsWithTheImplementationColumnFixed()
    {
        final String html = ReportWriter.html(INFO, List.of(ReportSamples.connectStorm(), ReportSamples.throughput()));
        assertEquals(count(html, "<table"), count(html, "<div class=\"wide\"><table"), "every table in its box");
        assertEquals(count(html, "<table"), count(html, "</table></div>"));
        final String css = ReportWriter.CSS.replace("\\\n", "");
        assertTrue(css.contains("div.wide{overflow-x:auto;max-width:100%"), css);
        assertTrue(Pattern.compile("th:first-child,td:first-child\\{position:sticky;left:0;[^}]*}").matcher(css).find(),
            css);
        assertTrue(css.matches("(?s).*\\nth,td\\{[^}]*background:#fff.*"), "a fixed column hides what scrolls under it");
        assertTrue(css.contains("td.long{white-space:normal"), "long text wraps");
        assertTrue(html.contains("<td class=\"t long\">TCP 1: 11.67 Gbit/s"), "the throughput text is long");
        final java.util.regex.Matcher body = Pattern.compile("body\\{[^}]*max-width:(\\d+)px").matcher(css);
        assertTrue(body.find() && Integer.parseInt(body.group(1)) >= 1800,
            "the page may use a wide window: tables do not stop at a narrow column");
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

    /** The summary tables of an HTML report, one per latency metric (or one without latency). */
    static List<String> summaryTables(final String html)
    {
        final List<String> tables = new java.util.ArrayList<>();
        final Matcher m = Pattern.compile("(?s)<table class=\"summary\".*?</table>").matcher(html);
        while (m.find())
        {
            tables.add(m.group());
        }
        return tables;
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
