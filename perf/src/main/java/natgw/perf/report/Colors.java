package natgw.perf.report;

import java.util.Map;

/**
 * One colour per implementation, by name, for every plot, chart and table swatch of every report: a reader who has
 * learnt that natgw-reserve is blue finds it blue in the next scenario and the next run, whichever implementations
 * ran and in whatever order. They are picked to be told apart in one plot, since {@code --impl all} draws all of
 * them together; the baseline, kernel-masq, stays red as in earlier reports.
 */
final class Colors
{
    /** The implementations the bench knows (natgw.perf.bench.Implementations), each its own colour. */
    static final Map<String, String> KNOWN = Map.ofEntries(
        Map.entry("kernel-masq", "#d62728"),
        Map.entry("kernel-masq-random", "#e377c2"),
        Map.entry("kernel-masq-fully-random", "#8c564b"),
        Map.entry("kernel-forward", "#7f7f7f"),
        Map.entry("kernel-dnat", "#bcbd22"),
        Map.entry("natgw-reserve", "#1f77b4"),
        Map.entry("natgw-reserve-no-offload", "#17becf"),
        Map.entry("natgw-kernel", "#2ca02c"),
        Map.entry("natgw-kernel-no-clash", "#0b5d1e"),
        Map.entry("natgw-random", "#9467bd"),
        Map.entry("natgw-random-fully", "#393b79"),
        Map.entry("nulltun", "#ff7f0e"),
        Map.entry("nulltun-offload", "#b8860b"));
    /** For a name not in {@link #KNOWN}: chosen by the name's hash, so still the same in every report. */
    static final String[] OTHERS = {"#ad494a", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#31a354",
        "#756bb1", "#636363"};

    private Colors()
    {
    }

    static String of(final String impl)
    {
        final String known = KNOWN.get(impl);
        return known != null ? known : OTHERS[Math.floorMod(impl.hashCode(), OTHERS.length)];
    }
}
