package natgw.perf.bench;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * One scenario run: its implementations' results in run order, the parameters, the conntrack columns this
 * kernel has (they differ between kernel versions), the scenario's own problem counts shown as table columns, and
 * its throughput figures quoted as ratios.
 */
public record ScenarioResult(
    String scenario,
    String description,
    List<String> metrics,
    List<ImplResult> impls,
    Map<String, Object> parameters,
    List<String> kernelConntrackColumns,
    Instant started,
    double elapsedS,
    Map<String, String> throughputText,
    List<Column> extraColumns,
    List<Figure> figures)
{
    /** A table column of the scenario's own: a count of the load result ({@code lost}) under a label. */
    public record Column(String label, String count)
    {
    }

    /**
     * A per-segment value of the load result ({@code tcp1_gbps}), higher is better unless {@code lowerIsBetter} (a
     * cost): drawn as bars and quoted as ratios against the kernel baseline and against each row's nulltun in the
     * same offload mode.
     */
    public record Figure(String label, String value, String unit, boolean lowerIsBetter)
    {
        /** A throughput: higher is better. */
        public Figure(final String label, final String value, final String unit)
        {
            this(label, value, unit, false);
        }
    }

    public ScenarioResult
    {
        extraColumns = List.copyOf(extraColumns);
        figures = List.copyOf(figures);
    }

    /** A scenario without figures quoted as ratios. */
    public ScenarioResult(final String scenario, final String description, final List<String> metrics,
        final List<ImplResult> impls, final Map<String, Object> parameters, final List<String> kernelConntrackColumns,
        final Instant started, final double elapsedS, final Map<String, String> throughputText,
        final List<Column> extraColumns)
    {
        this(scenario, description, metrics, impls, parameters, kernelConntrackColumns, started, elapsedS,
            throughputText, extraColumns, List.of());
    }

    /** A scenario without columns of its own. */
    public ScenarioResult(final String scenario, final String description, final List<String> metrics,
        final List<ImplResult> impls, final Map<String, Object> parameters, final List<String> kernelConntrackColumns,
        final Instant started, final double elapsedS, final Map<String, String> throughputText)
    {
        this(scenario, description, metrics, impls, parameters, kernelConntrackColumns, started, elapsedS,
            throughputText, List.of());
    }
}
