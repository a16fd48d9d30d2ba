package natgw.perf.report;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

import natgw.perf.bench.ImplResult;
import natgw.perf.bench.ScenarioResult;
import org.HdrHistogram.Histogram;

/**
 * The ratios a report quotes, each within one run: every row against the kernel baseline ({@code kernel-masq}, else
 * {@code kernel-dnat}, else the first row that ran), and every TUN-based row against the nulltun row of its own
 * offload mode ({@code nulltun-offload} for natgw with offloads, {@code nulltun} for {@code --offload off}): the
 * kernel says what a user could have instead, the same-mode nulltun what the TUN path itself allows.
 */
final class Ratios
{
    /** What a ratio of latencies means: the implementation's time over the reference's. */
    static final String LOWER_IS_BETTER = "lower is better";
    /** What a ratio of figures ({@link ScenarioResult.Figure}: throughputs; costs are lower-is-better) means. */
    static final String HIGHER_IS_BETTER = "higher is better";
    /** The reference of the "same mode" ratios, as headers name it. */
    static final String SAME_MODE_TUN = "same-mode TUN";

    /** The kernel implementations ratios are quoted against, in order of preference. */
    static final List<String> BASELINES = List.of("kernel-masq", "kernel-dnat");

    private Ratios()
    {
    }

    /** The implementation ratios are quoted against: kernel-masq, else kernel-dnat, else the first that ran. */
    static ImplResult baseline(final ScenarioResult scenario)
    {
        for (final String name : BASELINES)
        {
            final ImplResult impl = ran(scenario, name);
            if (impl != null)
            {
                return impl;
            }
        }
        for (final ImplResult impl : scenario.impls())
        {
            if (impl.ran())
            {
                return impl;
            }
        }
        return null;
    }

    /** The nulltun row in this implementation's offload mode, when it ran; null for the kernel's paths. */
    static ImplResult sameModeTun(final ScenarioResult scenario, final ImplResult impl)
    {
        return impl.sameModeTun() == null ? null : ran(scenario, impl.sameModeTun());
    }

    /** True when some row of the scenario has its same-mode nulltun in the run: the "vs nulltun" columns say something. */
    static boolean anyTun(final ScenarioResult scenario)
    {
        for (final ImplResult impl : scenario.impls())
        {
            if (impl.ran() && sameModeTun(scenario, impl) != null)
            {
                return true;
            }
        }
        return false;
    }

    private static ImplResult ran(final ScenarioResult scenario, final String name)
    {
        for (final ImplResult impl : scenario.impls())
        {
            if (impl.ran() && impl.name().equals(name))
            {
                return impl;
            }
        }
        return null;
    }

    /** {@code value / reference}; NaN when either is missing or the reference is 0. */
    static double of(final double value, final double reference)
    {
        return Double.isNaN(value) || Double.isNaN(reference) || reference == 0 ? Double.NaN : value / reference;
    }

    /** A latency percentile of {@code impl} over the same percentile of {@code reference}; NaN without data. */
    static double latency(final ImplResult impl, final ImplResult reference, final String metric,
        final double percentile)
    {
        return reference == null ? Double.NaN : of(percentile(impl, metric, percentile),
            percentile(reference, metric, percentile));
    }

    private static double percentile(final ImplResult impl, final String metric, final double percentile)
    {
        return percentile(metric == null ? null : impl.histogram(metric), percentile);
    }

    private static double percentile(final Histogram h, final double percentile)
    {
        return h == null || h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(percentile);
    }

    /**
     * Block by block, where both ran: a latency percentile of {@code impl} over the same percentile of {@code reference}
     * in that block. The blocks alternate the rows, so each ratio compares two segments minutes apart at most, and
     * their spread says how far one run's pooled ratio can be trusted on a noisy machine. None for a row against itself.
     */
    static List<Double> blockLatencies(final ImplResult impl, final ImplResult reference, final String metric,
        final double percentile)
    {
        final List<Double> ratios = new ArrayList<>();
        if (reference == null || reference == impl || metric == null)
        {
            return ratios;
        }
        for (final int block : impl.blocks())
        {
            final double ratio = of(percentile(impl.blockHistogram(metric, block), percentile),
                percentile(reference.blockHistogram(metric, block), percentile));
            if (!Double.isNaN(ratio))
            {
                ratios.add(ratio);
            }
        }
        return ratios;
    }

    /** {@code median (min-max)} of block ratios, {@code -} when there are none. */
    static String spread(final List<Double> ratios)
    {
        if (ratios.isEmpty())
        {
            return "-";
        }
        return format(ImplResult.median(ratios)) +
            String.format(Locale.ROOT, " (%.2f-%.2f)", Collections.min(ratios), Collections.max(ratios));
    }

    /**
     * For a latency metric, every TUN-based row against its same-mode nulltun block by block, header first: the
     * median and range of the blocks' p50 and p99 ratios, the 95 % interval of the p50 ratios' median with what it
     * says against 1 ({@link MedianInterval}, from six blocks), and each block's p50 ratio. Empty unless some row has
     * its same-mode nulltun in two blocks or more.
     */
    static List<String[]> blockTable(final ScenarioResult scenario, final String metric)
    {
        final List<String[]> table = new ArrayList<>();
        table.add(new String[] {"implementation", SAME_MODE_TUN, "blocks", label("p50", SAME_MODE_TUN, LOWER_IS_BETTER),
            label("p99", SAME_MODE_TUN, LOWER_IS_BETTER), "p50 median's 95% interval", "each block's p50 ratio"});
        for (final ImplResult impl : scenario.impls())
        {
            final ImplResult sameMode = impl.ran() ? sameModeTun(scenario, impl) : null;
            final List<Double> p50 = blockLatencies(impl, sameMode, metric, 50);
            if (p50.size() < 2)
            {
                continue;
            }
            final List<String> each = new ArrayList<>();
            for (final double ratio : p50)
            {
                each.add(String.format(Locale.ROOT, "%.2f", ratio));
            }
            final MedianInterval interval = MedianInterval.of(p50);
            table.add(new String[] {impl.name(), sameMode.name(), Integer.toString(p50.size()), spread(p50),
                spread(blockLatencies(impl, sameMode, metric, 99)),
                interval == null ? "- (" + MedianInterval.MIN_VALUES + " blocks needed)" : interval.toString(),
                String.join(" ", each)});
        }
        return table.size() > 1 ? table : List.of();
    }

    /** The median of a per-segment value of {@code impl} over that of {@code reference}. */
    static double figure(final ImplResult impl, final ImplResult reference, final String value)
    {
        return reference == null ? Double.NaN : of(impl.median(value), reference.median(value));
    }

    /**
     * A ratio column's header that says what it is over and which way is good: {@code p50 x kernel-masq (lower is
     * better)}, {@code x same-mode TUN (higher is better)}.
     */
    static String label(final String what, final String reference, final String sense)
    {
        return (what.isEmpty() ? "" : what + " ") + "x " + reference + " (" + sense + ")";
    }

    /** The baseline's name for headers, {@code base} when nothing ran. */
    static String baselineName(final ScenarioResult scenario)
    {
        final ImplResult base = baseline(scenario);
        return base == null ? "base" : base.name();
    }

    static String format(final double ratio)
    {
        return Double.isNaN(ratio) ? "-" : String.format(Locale.ROOT, "%.2fx", ratio);
    }

    /**
     * The scenario's figures ({@link ScenarioResult#figures()}) as a table, header first: per figure its median, the
     * ratio to the baseline and the ratio to the row's same-mode nulltun (those columns only when a nulltun ran).
     * Empty when the scenario has no figures.
     */
    static List<String[]> figureTable(final ScenarioResult scenario)
    {
        final List<String[]> table = new ArrayList<>();
        final List<ScenarioResult.Figure> figures = scenario.figures();
        final ImplResult base = baseline(scenario);
        if (figures.isEmpty() || base == null)
        {
            return table;
        }
        final boolean tun = anyTun(scenario);
        final List<String> header = new ArrayList<>(List.of("implementation"));
        if (tun)
        {
            header.add(SAME_MODE_TUN);
        }
        for (final ScenarioResult.Figure figure : figures)
        {
            final String sense = figure.lowerIsBetter() ? LOWER_IS_BETTER : HIGHER_IS_BETTER;
            header.add(figure.label() + " " + figure.unit());
            header.add(label("", base.name(), sense));
            if (tun)
            {
                header.add(label("", SAME_MODE_TUN, sense));
            }
        }
        table.add(header.toArray(new String[0]));
        for (final ImplResult impl : scenario.impls())
        {
            if (!impl.ran())
            {
                continue;
            }
            final ImplResult sameMode = sameModeTun(scenario, impl);
            final List<String> row = new ArrayList<>(List.of(impl.name()));
            if (tun)
            {
                row.add(sameMode == null ? "-" : sameMode.name());
            }
            for (final ScenarioResult.Figure figure : figures)
            {
                final double median = impl.median(figure.value());
                row.add(Double.isNaN(median) ? "-" : Format.value(median));
                row.add(format(figure(impl, base, figure.value())));
                if (tun)
                {
                    row.add(format(figure(impl, sameMode, figure.value())));
                }
            }
            table.add(row.toArray(new String[0]));
        }
        return table;
    }
}
