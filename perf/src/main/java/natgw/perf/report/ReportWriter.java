package natgw.perf.report;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import natgw.perf.bench.ImplResult;
import natgw.perf.bench.ScenarioResult;
import org.HdrHistogram.Histogram;

/**
 * Writes a run's results into its directory: one {@code .hgrm} per implementation and latency metric
 * (HdrHistogram's percentile distribution, microseconds), {@code summary.json}, {@code report.md} and one
 * self-contained {@code report.html} (inline SVG plots, no external resources). The tables are built here, once,
 * and rendered as text, Markdown and HTML by {@link Table}; {@link JsonReport} writes the summary.
 */
public final class ReportWriter
{
    /** Where the run happened and how it was started. */
    public record RunInfo(String title, String command, Map<String, String> host, Instant generated)
    {
    }

    /** The files written. */
    public record WrittenFiles(Path html, Path markdown, Path json, List<Path> hgrm)
    {
    }

    /** One table row: an implementation's figures for one latency metric. */
    public record Row(String impl, LatencySummary latency, long stalls, long errors, Long insertFailed, Long drop,
        Long tunDrops, Long clashResolve, String throughput, double p50Ratio, double tunP50Ratio, double tunP99Ratio,
        List<Long> extras)
    {
        public Row
        {
            extras = List.copyOf(extras);
        }
    }

    private ReportWriter()
    {
    }

    public static WrittenFiles write(final Path dir, final RunInfo info, final List<ScenarioResult> scenarios)
        throws IOException
    {
        Files.createDirectories(dir);
        final List<Path> hgrm = new ArrayList<>();
        for (final ScenarioResult scenario : scenarios)
        {
            for (final ImplResult impl : scenario.impls())
            {
                for (final Map.Entry<String, Histogram> e : impl.histograms().entrySet())
                {
                    final Path file = dir.resolve(scenario.scenario() + "." + impl.name() + "." + e.getKey() + ".hgrm");
                    try (PrintStream out = new PrintStream(Files.newOutputStream(file), false, StandardCharsets.UTF_8))
                    {
                        e.getValue().outputPercentileDistribution(out, 1000.0);
                    }
                    hgrm.add(file);
                }
            }
        }
        final Path json = dir.resolve("summary.json");
        Files.writeString(json, JsonReport.json(info, scenarios));
        final Path md = dir.resolve("report.md");
        Files.writeString(md, markdown(info, scenarios));
        final Path html = dir.resolve("report.html");
        Files.writeString(html, html(info, scenarios));
        return new WrittenFiles(html, md, json, hgrm);
    }

    /** Latency metrics that have data in this scenario, in the scenario's order. */
    public static List<String> metricsWithData(final ScenarioResult scenario)
    {
        final List<String> metrics = new ArrayList<>();
        for (final String metric : scenario.metrics())
        {
            for (final ImplResult impl : scenario.impls())
            {
                if (impl.histogram(metric) != null && impl.histogram(metric).getTotalCount() > 0)
                {
                    metrics.add(metric);
                    break;
                }
            }
        }
        return metrics;
    }

    /** Rows of the table for one latency metric (null metric: a scenario without latency, e.g. throughput). */
    public static List<Row> rows(final ScenarioResult scenario, final String metric)
    {
        final String prefix = metric == null || metric.indexOf('.') < 0 ? "" :
            metric.substring(0, metric.lastIndexOf('.') + 1);
        final ImplResult base = Ratios.baseline(scenario);
        final List<Row> rows = new ArrayList<>();
        for (final ImplResult impl : scenario.impls())
        {
            if (!impl.ran())
            {
                continue;
            }
            final Histogram h = metric == null ? null : impl.histogram(metric);
            final LatencySummary latency = h == null ? null : LatencySummary.of(h);
            final ImplResult tun = Ratios.sameModeTun(scenario, impl);
            rows.add(new Row(impl.name(), latency, impl.count(prefix + "stalls"), impl.count(prefix + "errors"),
                impl.counter("insert_failed"), impl.counter("drop"), impl.counter("tun_tx_dropped"),
                impl.counter("clash_resolve"), throughputCell(scenario, impl, prefix),
                Ratios.latency(impl, base, metric, 50), Ratios.latency(impl, tun, metric, 50),
                Ratios.latency(impl, tun, metric, 99), extras(scenario, impl, prefix)));
        }
        return rows;
    }

    /** The scenario's own problem counts ({@link ScenarioResult#extraColumns()}) of one implementation. */
    static List<Long> extras(final ScenarioResult scenario, final ImplResult impl, final String prefix)
    {
        final List<Long> extras = new ArrayList<>();
        for (final ScenarioResult.Column column : scenario.extraColumns())
        {
            extras.add(impl.count(prefix + column.count()));
        }
        return extras;
    }

    /** The scenario's throughput text, or for a mode-prefixed metric ({@code closed.}) that mode's rate. */
    static String throughputCell(final ScenarioResult scenario, final ImplResult impl, final String prefix)
    {
        final double rate = prefix.isEmpty() ? Double.NaN : impl.median(prefix + "conn_per_s");
        if (Double.isNaN(rate))
        {
            return scenario.throughputText().getOrDefault(impl.name(), "-");
        }
        final double target = impl.median(prefix + "target_conn_per_s");
        return Double.isNaN(target) ? String.format(Locale.ROOT, "%.0f conn/s", rate) :
            String.format(Locale.ROOT, "%.0f of %.0f conn/s", rate, target);
    }

    private static final String[] HEADER = {"implementation", "n", "p50", "p99", "p99.9", "p99.99", "max",
        "stalls ≥1 s", "errors", "insert_failed", "drop", "TUN drops", "clash_resolve", "throughput", "p50 x base",
        "p50 x same-mode TUN", "p99 x same-mode TUN"};
    /** Columns of {@link #HEADER}: the first that is not latency, the problem counts, throughput, ratio. */
    static final int COL_STALLS = 7;
    static final int COL_FIRST_COUNT = 8;
    static final int COL_TUN_DROPS = 11;
    static final int COL_THROUGHPUT = 13;
    static final int COL_RATIO = 14;
    /** Against the row's nulltun in the same offload mode; kept only when one ran. */
    static final int COL_TUN_P50 = 15;
    static final int COL_TUN_P99 = 16;

    /**
     * The header for this scenario: {@link #HEADER} with the scenario's own columns before throughput, the ratios
     * named after what they are over and which way is better.
     */
    static String[] header(final ScenarioResult scenario)
    {
        final String[] header = HEADER.clone();
        header[COL_RATIO] = Ratios.label("p50", Ratios.baselineName(scenario), Ratios.LOWER_IS_BETTER);
        header[COL_TUN_P50] = Ratios.label("p50", Ratios.SAME_MODE_TUN, Ratios.LOWER_IS_BETTER);
        header[COL_TUN_P99] = Ratios.label("p99", Ratios.SAME_MODE_TUN, Ratios.LOWER_IS_BETTER);
        final List<String> labels = new ArrayList<>();
        for (final ScenarioResult.Column column : scenario.extraColumns())
        {
            labels.add(column.label());
        }
        return withExtras(header, labels);
    }

    /** A row's cells, its scenario's own counts before throughput. */
    static String[] cells(final ScenarioResult scenario, final Row row)
    {
        final List<String> extras = new ArrayList<>();
        for (final Long value : row.extras())
        {
            extras.add(Long.toString(value));
        }
        return withExtras(cells(row), extras);
    }

    private static String[] withExtras(final String[] base, final List<String> extras)
    {
        final String[] all = new String[base.length + extras.size()];
        System.arraycopy(base, 0, all, 0, COL_THROUGHPUT);
        for (int i = 0; i < extras.size(); i++)
        {
            all[COL_THROUGHPUT + i] = extras.get(i);
        }
        System.arraycopy(base, COL_THROUGHPUT, all, COL_THROUGHPUT + extras.size(), base.length - COL_THROUGHPUT);
        return all;
    }

    /** True for the columns that count problems (stalls, errors, drops, the scenario's own): red when not 0. */
    static boolean problemColumn(final int c, final int extras)
    {
        return (c >= COL_STALLS && c <= COL_TUN_DROPS) || (c >= COL_THROUGHPUT && c < COL_THROUGHPUT + extras);
    }

    static String[] cells(final Row row)
    {
        final LatencySummary l = row.latency();
        return new String[] {
            row.impl(),
            l == null ? "-" : Long.toString(l.count()),
            l == null ? "-" : Format.latencyUs(l.p50Us()),
            l == null ? "-" : Format.latencyUs(l.p99Us()),
            l == null ? "-" : Format.latencyUs(l.p999Us()),
            l == null ? "-" : Format.latencyUs(l.p9999Us()),
            l == null ? "-" : Format.latencyUs(l.maxUs()),
            Long.toString(row.stalls()),
            Long.toString(row.errors()),
            Format.counter(row.insertFailed()),
            Format.counter(row.drop()),
            Format.counter(row.tunDrops()),
            Format.counter(row.clashResolve()),
            row.throughput(),
            Ratios.format(row.p50Ratio()),
            Ratios.format(row.tunP50Ratio()),
            Ratios.format(row.tunP99Ratio())};
    }

    /**
     * The table of one latency metric (null: a scenario without latency, e.g. throughput), with the columns that say
     * something: no latency columns without a metric, no same-mode TUN ratios when no nulltun ran, no throughput
     * column when no row has one.
     */
    static Table summaryTable(final ScenarioResult scenario, final String metric)
    {
        final int extras = scenario.extraColumns().size();
        final String[] header = header(scenario);
        final List<String[]> cells = new ArrayList<>();
        for (final Row row : rows(scenario, metric))
        {
            cells.add(cells(scenario, row));
        }
        final int throughput = COL_THROUGHPUT + extras;
        final Table table = new Table(header, cells).text(throughput);
        for (int c = 0; c < header.length; c++)
        {
            if (problemColumn(c, extras))
            {
                table.problem(c);
            }
        }
        final boolean[] keep = keptColumns(metric, extras, Ratios.anyTun(scenario));
        keep[throughput] &= !table.empty(throughput);
        return table.keep(keep);
    }

    /** The block-by-block ratios of a latency metric ({@link Ratios#blockTable}); null when there are none. */
    static Table blockTable(final ScenarioResult scenario, final String metric)
    {
        final List<String[]> table = Ratios.blockTable(scenario, metric);
        return table.isEmpty() ? null : Table.of(table).text(1).text(5).text(6);
    }

    /** What a block table holds, said before it in markdown and html. */
    private static final String BLOCKS_CAPTION = "Block by block: each block's percentile over the same-mode TUN's " +
        "in that block, the median (lowest-highest) of the blocks, and where the median of the blocks' p50 ratios " +
        "lies with 95 % confidence (by order statistics): lower or higher than the TUN's, or not told apart";

    /** The scenario's figures, medians and ratios ({@link Ratios#figureTable}); null when it has none. */
    static Table figuresTable(final ScenarioResult scenario)
    {
        final List<String[]> figures = Ratios.figureTable(scenario);
        if (figures.isEmpty())
        {
            return null;
        }
        final Table table = Table.of(figures);
        return figures.get(0)[1].equals(Ratios.SAME_MODE_TUN) ? table.text(1) : table;
    }

    /** Per-segment values (throughputs): median and each segment; null when the scenario has none. */
    static Table valuesTable(final ScenarioResult scenario)
    {
        final List<String> names = valueNames(scenario);
        if (names.isEmpty())
        {
            return null;
        }
        return perImplementation(scenario, names, (impl, name) -> valueCell(impl, name, wholeNumbers(scenario, name)));
    }

    /** Conntrack counters summed over segments, {@code n/a} where an implementation does not have one. */
    static Table countersTable(final ScenarioResult scenario)
    {
        final List<String> names = counterNames(scenario);
        return perImplementation(scenario, names, (impl, name) -> Format.counter(impl.counter(name)));
    }

    /** A row per implementation that ran: its name, then {@code cell} of each named column. */
    private static Table perImplementation(
        final ScenarioResult scenario, final List<String> names, final java.util.function.BiFunction<ImplResult, String, String> cell)
    {
        final List<String> header = new ArrayList<>(List.of("implementation"));
        header.addAll(names);
        final List<String[]> rows = new ArrayList<>();
        for (final ImplResult impl : scenario.impls())
        {
            if (impl.ran())
            {
                final List<String> row = new ArrayList<>(List.of(impl.name()));
                for (final String name : names)
                {
                    row.add(cell.apply(impl, name));
                }
                rows.add(row.toArray(new String[0]));
            }
        }
        return new Table(header.toArray(new String[0]), rows);
    }

    /** A fixed-width table for the terminal: one per latency metric (or one without latency columns). */
    public static String terminalTable(final ScenarioResult scenario)
    {
        final StringBuilder sb = new StringBuilder();
        for (final String metric : tableMetrics(scenario))
        {
            sb.append(scenario.scenario()).append(metric == null ? "" : " - " + metric + " latency").append('\n')
                .append(summaryTable(scenario, metric).terminal()).append('\n');
            final Table blocks = blockTable(scenario, metric);
            if (blocks != null)
            {
                sb.append(scenario.scenario()).append(" - ").append(metric)
                    .append(" latency, block by block: median (lowest-highest) of the blocks' ratios\n")
                    .append(blocks.terminal()).append('\n');
            }
        }
        final Table figures = figuresTable(scenario);
        if (figures != null)
        {
            sb.append(scenario.scenario()).append(" - medians and ratios\n").append(figures.terminal()).append('\n');
        }
        for (final ImplResult impl : scenario.impls())
        {
            if (impl.unavailable() != null)
            {
                sb.append(impl.name()).append(": not run: ").append(impl.unavailable()).append('\n');
            }
            for (final String note : impl.notes())
            {
                sb.append(impl.name()).append(": ").append(note).append('\n');
            }
        }
        return sb.toString();
    }

    /** The metrics with a table each: those with data, or one null (a table without latency columns). */
    static List<String> tableMetrics(final ScenarioResult scenario)
    {
        final List<String> metrics = metricsWithData(scenario);
        return metrics.isEmpty() ? java.util.Collections.singletonList(null) : metrics;
    }

    /**
     * Latency columns only when there is a latency metric; the {@code extras} scenario columns always; the ratios to
     * the same-mode nulltun only when {@code tun} (a nulltun ran).
     */
    static boolean[] keptColumns(final String metric, final int extras, final boolean tun)
    {
        final boolean[] keep = new boolean[HEADER.length + extras];
        for (int c = 0; c < keep.length; c++)
        {
            keep[c] = metric != null || c == 0 || c >= COL_FIRST_COUNT;
        }
        if (metric == null)
        {
            keep[COL_RATIO + extras] = false;
        }
        if (metric == null || !tun)
        {
            keep[COL_TUN_P50 + extras] = false;
            keep[COL_TUN_P99 + extras] = false;
        }
        return keep;
    }

    /**
     * True when {@code value} counts something (retransmissions): every segment's value of every implementation is a
     * whole number. A figure ({@link ScenarioResult.Figure}) is a rate or a cost, never a count, even when it comes out whole.
     */
    static boolean wholeNumbers(final ScenarioResult scenario, final String value)
    {
        for (final ScenarioResult.Figure figure : scenario.figures())
        {
            if (figure.value().equals(value))
            {
                return false;
            }
        }
        final List<Double> all = new ArrayList<>();
        for (final ImplResult impl : scenario.impls())
        {
            all.addAll(impl.values().getOrDefault(value, List.of()));
        }
        return Format.whole(all);
    }

    // ---------------------------------------------------------------- Markdown

    /** What the ratios mean, for the introduction of the Markdown and the HTML report. */
    static final String RATIOS_NOTE = "Ratios (x) divide a row's figure by the reference's, each column saying " +
        "which way is better: for latency lower is better (2.00x: twice as slow), for throughput higher is better " +
        "(0.50x: half as fast). The reference is `kernel-masq` when it ran, else `kernel-dnat`, else the first " +
        "implementation; \"x same-mode TUN\" is the row's TUN ceiling in the same offload mode (`nulltun-offload` " +
        "for natgw with offloads, `nulltun` for natgw `--offload off`), when it ran.";

    public static String markdown(final RunInfo info, final List<ScenarioResult> scenarios)
    {
        final StringBuilder sb = new StringBuilder();
        sb.append("# ").append(info.title()).append("\n\n");
        sb.append("Generated ").append(info.generated()).append(" by `").append(info.command()).append("`.  \n");
        sb.append("Host: ").append(hostLine(info.host())).append("\n\n");
        sb.append("Every figure below was measured in this run. Implementations alternate in blocks (A B C, B C A, " +
            "...) on the same namespace lab; latencies are HdrHistogram percentiles over all segments of an " +
            "implementation; throughputs are medians over its segments; conntrack counters are summed over its " +
            "segments. ").append(RATIOS_NOTE).append("\n\n");
        for (final ScenarioResult scenario : scenarios)
        {
            sb.append("## ").append(scenario.scenario()).append("\n\n");
            sb.append(scenario.description()).append("\n\n");
            sb.append("Parameters: ").append(parameterLine(scenario.parameters()))
                .append(String.format(Locale.ROOT, "; run took %.0f s.%n%n", scenario.elapsedS()));
            for (final String metric : tableMetrics(scenario))
            {
                if (metric != null)
                {
                    sb.append("### ").append(metric).append(" latency\n\n");
                }
                sb.append(summaryTable(scenario, metric).markdown()).append('\n');
                final Table blocks = blockTable(scenario, metric);
                if (blocks != null)
                {
                    sb.append(BLOCKS_CAPTION).append(":\n\n").append(blocks.markdown()).append('\n');
                }
            }
            final Table figures = figuresTable(scenario);
            if (figures != null)
            {
                sb.append("Medians and ratios:\n\n").append(figures.markdown()).append('\n');
            }
            final Table values = valuesTable(scenario);
            if (values != null)
            {
                sb.append("Per-segment figures (median [each segment]):\n\n").append(values.markdown()).append('\n');
            }
            sb.append("Implementations:\n\n");
            for (final ImplResult impl : scenario.impls())
            {
                sb.append("- `").append(impl.name()).append("`: ").append(impl.description());
                if (impl.unavailable() != null)
                {
                    sb.append(" **Not run:** ").append(impl.unavailable());
                }
                sb.append('\n');
                for (final String note : impl.notes())
                {
                    sb.append("  - note: ").append(note).append('\n');
                }
            }
            sb.append("\nConntrack counters (summed over segments):\n\n").append(countersTable(scenario).markdown());
            sb.append("\nColumns of /proc/net/stat/nf_conntrack on this kernel: `")
                .append(String.join(" ", scenario.kernelConntrackColumns())).append("`.\n\n");
        }
        return sb.toString();
    }

    static List<String> valueNames(final ScenarioResult scenario)
    {
        final List<String> names = new ArrayList<>();
        for (final ImplResult impl : scenario.impls())
        {
            for (final String name : impl.values().keySet())
            {
                if (!names.contains(name) && !name.endsWith("duration_s"))
                {
                    names.add(name);
                }
            }
        }
        return names;
    }

    /** Median and, when there are several, each segment: {@code 9.62 [9.60, 9.64]}; whole numbers without decimals. */
    static String valueCell(final ImplResult impl, final String name, final boolean whole)
    {
        final List<Double> list = impl.values().get(name);
        if (list == null || list.isEmpty())
        {
            return "-";
        }
        final StringBuilder sb = new StringBuilder(Format.value(impl.median(name), whole));
        if (list.size() > 1)
        {
            sb.append(" [");
            for (int i = 0; i < list.size(); i++)
            {
                sb.append(i == 0 ? "" : ", ").append(Format.value(list.get(i), whole));
            }
            sb.append(']');
        }
        return sb.toString();
    }

    static List<String> counterNames(final ScenarioResult scenario)
    {
        final List<String> names = new ArrayList<>(natgw.perf.bench.ConntrackStats.REPORTED);
        for (final ImplResult impl : scenario.impls())
        {
            for (final String name : impl.counters().keySet())
            {
                if (!names.contains(name) && !name.equals("entries") && !name.startsWith("expect_"))
                {
                    names.add(name);
                }
            }
        }
        return names;
    }

    static String hostLine(final Map<String, String> host)
    {
        final List<String> parts = new ArrayList<>();
        host.forEach((k, v) -> parts.add(k + " " + v));
        return String.join(", ", parts);
    }

    static String parameterLine(final Map<String, Object> parameters)
    {
        final List<String> parts = new ArrayList<>();
        parameters.forEach((k, v) -> parts.add(k + "=" + v));
        return String.join(", ", parts);
    }

    // ---------------------------------------------------------------- HTML

    /**
     * The page's style. Prose keeps a readable measure; a table wider than the page scrolls sideways inside its own
     * box ({@code div.wide}) with the implementation column fixed ({@code position: sticky}), and its headers and
     * text cells wrap before it has to; plots shrink with a narrow window.
     */
    static final String CSS = """
        body{font-family:sans-serif;max-width:1860px;margin:1.5em auto;padding:0 1em;color:#222}
        h1,h2,h3,p,ul{max-width:76em}
        code{background:#f2f2f2;padding:0 3px;border-radius:3px}
        div.wide{overflow-x:auto;max-width:100%;margin:0.5em 0 1.5em}
        table{border-collapse:separate;border-spacing:0;border:solid #bbb;border-width:1px 0 0 1px;font-size:0.9em}
        th,td{border:solid #ccc;border-width:0 1px 1px 0;padding:3px 6px;text-align:right;white-space:nowrap;\
        background:#fff}
        th{background:#f3f3f3;white-space:normal;vertical-align:bottom}
        .nw{white-space:nowrap}
        th .sense{font-weight:normal;font-size:0.8em;white-space:nowrap;color:#555}
        th.t,td.t{text-align:left}
        td.long{white-space:normal;min-width:20em}
        th:first-child,td:first-child{position:sticky;left:0;z-index:1;text-align:left;white-space:nowrap;\
        box-shadow:1px 0 0 #999}
        .key{display:inline-block;width:0.75em;height:0.75em;margin-right:0.45em;border-radius:2px}
        svg{max-width:100%;height:auto}
        .note{color:#8a4b00}
        .bad{color:#b00000;font-weight:bold}
        """;

    public static String html(final RunInfo info, final List<ScenarioResult> scenarios)
    {
        final StringBuilder sb = new StringBuilder();
        sb.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n")
            .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>")
            .append(Format.escapeHtml(info.title())).append("</title>\n<style>\n").append(CSS)
            .append("</style></head><body>\n");
        sb.append("<h1>").append(Format.escapeHtml(info.title())).append("</h1>\n");
        sb.append("<p>Generated ").append(info.generated()).append(" by <code>")
            .append(Format.escapeHtml(info.command())).append("</code>.<br>Host: ")
            .append(Format.escapeHtml(hostLine(info.host()))).append("</p>\n");
        sb.append("<p>Every figure was measured in this run. Implementations alternate in blocks on the same " +
            "namespace lab; latency percentiles are over all segments of an implementation, throughputs are medians " +
            "over its segments, conntrack counters are summed. ").append(Format.htmlText(RATIOS_NOTE))
            .append(" Plots: latency by percentile, x axis log<sub>10</sub>(1/(1&minus;p)) as HdrHistogram's " +
            "plotter, y axis logarithmic; each implementation has one colour in every plot, chart and table.</p>\n");
        for (final ScenarioResult scenario : scenarios)
        {
            sb.append("<h2>").append(Format.escapeHtml(scenario.scenario())).append("</h2>\n<p>")
                .append(Format.htmlText(scenario.description())).append("</p>\n<p>Parameters: ")
                .append(Format.escapeHtml(parameterLine(scenario.parameters())))
                .append(String.format(Locale.ROOT, "; run took %.0f s.</p>%n", scenario.elapsedS()));
            for (final String metric : tableMetrics(scenario))
            {
                if (metric != null)
                {
                    sb.append("<h3>").append(Format.escapeHtml(metric)).append(" latency</h3>\n");
                    final List<PercentilePlot.Series> series = new ArrayList<>();
                    for (final ImplResult impl : scenario.impls())
                    {
                        final Histogram h = impl.histogram(metric);
                        if (h != null && h.getTotalCount() > 0)
                        {
                            series.add(new PercentilePlot.Series(impl.name(), Colors.of(impl.name()), h));
                        }
                    }
                    sb.append(PercentilePlot.svg(scenario.scenario() + ": " + metric + " latency by percentile",
                        series));
                }
                summaryTable(scenario, metric).html(sb, "summary",
                    metric == null ? "" : " data-metric=\"" + Format.escapeHtml(metric) + "\"");
                final Table blocks = blockTable(scenario, metric);
                if (blocks != null)
                {
                    sb.append("<p>").append(BLOCKS_CAPTION).append(".</p>\n");
                    blocks.html(sb, "blocks", " data-metric=\"" + Format.escapeHtml(metric) + "\"");
                }
            }
            appendHtmlValues(sb, scenario);
            sb.append("<h3>Implementations</h3>\n<ul>\n");
            for (final ImplResult impl : scenario.impls())
            {
                sb.append("<li><span class=\"key\" style=\"background:").append(Colors.of(impl.name()))
                    .append("\"></span><code>").append(Format.escapeHtml(impl.name())).append("</code>: ")
                    .append(Format.htmlText(impl.description()));
                if (impl.unavailable() != null)
                {
                    sb.append(" <span class=\"bad\">Not run: ").append(Format.htmlText(impl.unavailable()))
                        .append("</span>");
                }
                for (final String note : impl.notes())
                {
                    sb.append("<br><span class=\"note\">note: ").append(Format.htmlText(note)).append("</span>");
                }
                sb.append("</li>\n");
            }
            sb.append("</ul>\n<h3>Conntrack counters</h3>\n");
            countersTable(scenario).html(sb, "counters", "");
            sb.append("<p>Columns of <code>/proc/net/stat/nf_conntrack</code> on this kernel: <code>")
                .append(Format.escapeHtml(String.join(" ", scenario.kernelConntrackColumns())))
                .append("</code>.</p>\n");
        }
        sb.append("</body></html>\n");
        return sb.toString();
    }

    private static void appendHtmlValues(final StringBuilder sb, final ScenarioResult scenario)
    {
        final List<String> names = valueNames(scenario);
        if (names.isEmpty())
        {
            return;
        }
        for (final ScenarioResult.Figure figure : scenario.figures())
        {
            if (!names.contains(figure.value()))
            {
                continue;
            }
            final List<BarChart.Bar> bars = new ArrayList<>();
            for (final ImplResult impl : scenario.impls())
            {
                if (impl.ran())
                {
                    bars.add(new BarChart.Bar(impl.name(), Colors.of(impl.name()), impl.median(figure.value())));
                }
            }
            sb.append(BarChart.svg(scenario.scenario() + ": " + figure.label() + " (median of segments" +
                (figure.lowerIsBetter() ? ", lower is better)" : ")"),
                figure.unit(), bars));
        }
        final Table figures = figuresTable(scenario);
        if (figures != null)
        {
            sb.append("<h3>Medians and ratios</h3>\n");
            figures.html(sb, "ratios", "");
        }
        sb.append("<h3>Per-segment figures</h3>\n<p>Median [each segment].</p>\n");
        valuesTable(scenario).html(sb, "values", "");
    }
}
