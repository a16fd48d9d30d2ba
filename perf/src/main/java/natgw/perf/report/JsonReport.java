package natgw.perf.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import natgw.perf.bench.ImplResult;
import natgw.perf.bench.ScenarioResult;
import org.HdrHistogram.Histogram;

/** A run's {@code summary.json}: every figure of every implementation, with its ratios, for scripts. */
public final class JsonReport
{
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private JsonReport()
    {
    }


    /**
     * {@code {"tcp1_gbps": {"vs_base": 0.08, "vs_same_mode_tun": 0.9}, "connect.p50": {...}, "connect.p99": {...}}}:
     * each figure's median and each latency metric's p50 and p99 over the baseline's and the same-mode nulltun's,
     * the latter also block by block ({@code "vs_same_mode_tun_by_block": [1.1, 0.9, ...]}, with two blocks or more)
     * with, from six blocks, the 95 % interval of their median ({@code "vs_same_mode_tun_median_interval": {"low",
     * "high", "coverage", "verdict"}}, {@link MedianInterval});
     * a ratio that cannot be computed is left out.
     */
    static ObjectNode ratiosJson(final ScenarioResult scenario, final ImplResult impl, final ImplResult base)
    {
        final ObjectNode ratios = JSON.createObjectNode();
        final ImplResult tun = Ratios.sameModeTun(scenario, impl);
        for (final ScenarioResult.Figure figure : scenario.figures())
        {
            putRatios(ratios, figure.value(), Ratios.figure(impl, base, figure.value()),
                Ratios.figure(impl, tun, figure.value()));
        }
        for (final String metric : ReportWriter.metricsWithData(scenario))
        {
            for (final int percentile : new int[] {50, 99})
            {
                putRatios(ratios, metric + ".p" + percentile, Ratios.latency(impl, base, metric, percentile),
                    Ratios.latency(impl, tun, metric, percentile));
                final List<Double> blocks = Ratios.blockLatencies(impl, tun, metric, percentile);
                if (blocks.size() >= 2)
                {
                    final ObjectNode node = (ObjectNode)ratios.get(metric + ".p" + percentile);
                    final ArrayNode byBlock = node.putArray("vs_same_mode_tun_by_block");
                    blocks.forEach(byBlock::add);
                    final MedianInterval interval = MedianInterval.of(blocks);
                    if (interval != null)
                    {
                        node.putObject("vs_same_mode_tun_median_interval").put("low", interval.low)
                            .put("high", interval.high).put("coverage", interval.coverage).put("verdict", interval.verdict());
                    }
                }
            }
        }
        return ratios;
    }

    private static void putRatios(final ObjectNode ratios, final String key, final double vsBase, final double vsTun)
    {
        if (Double.isNaN(vsBase) && Double.isNaN(vsTun))
        {
            return;
        }
        final ObjectNode node = ratios.putObject(key);
        if (!Double.isNaN(vsBase))
        {
            node.put("vs_base", vsBase);
        }
        if (!Double.isNaN(vsTun))
        {
            node.put("vs_same_mode_tun", vsTun);
        }
    }

    public static String json(final ReportWriter.RunInfo info, final List<ScenarioResult> scenarios)
    {
        final ObjectNode root = JSON.createObjectNode();
        root.put("title", info.title());
        root.put("generated", info.generated().toString());
        root.put("command", info.command());
        final ObjectNode host = root.putObject("host");
        info.host().forEach(host::put);
        final ArrayNode list = root.putArray("scenarios");
        for (final ScenarioResult scenario : scenarios)
        {
            final ObjectNode s = list.addObject();
            s.put("scenario", scenario.scenario());
            s.put("started", scenario.started().toString());
            s.put("elapsed_s", scenario.elapsedS());
            final ImplResult base = Ratios.baseline(scenario);
            if (base != null)
            {
                s.put("baseline", base.name());
            }
            s.set("parameters", JSON.valueToTree(scenario.parameters()));
            s.set("kernel_conntrack_columns", JSON.valueToTree(scenario.kernelConntrackColumns()));
            final ArrayNode impls = s.putArray("impls");
            for (final ImplResult impl : scenario.impls())
            {
                final ObjectNode i = impls.addObject();
                i.put("name", impl.name());
                i.put("description", impl.description());
                i.put("ran", impl.ran());
                if (impl.unavailable() != null)
                {
                    i.put("unavailable", impl.unavailable());
                }
                final ObjectNode latency = i.putObject("latency_us");
                for (final Map.Entry<String, Histogram> e : impl.histograms().entrySet())
                {
                    latency.set(e.getKey(), JSON.valueToTree(LatencySummary.of(e.getValue())));
                }
                i.set("counts", JSON.valueToTree(impl.counts()));
                final Map<String, Double> medians = new LinkedHashMap<>();
                impl.values().keySet().forEach(k -> medians.put(k, impl.median(k)));
                i.set("values_median", JSON.valueToTree(medians));
                i.set("conntrack", JSON.valueToTree(impl.counters()));
                i.put("throughput", scenario.throughputText().getOrDefault(impl.name(), "-"));
                if (impl.sameModeTun() != null)
                {
                    i.put("same_mode_tun", impl.sameModeTun());
                }
                if (impl.ran())
                {
                    i.set("ratios", ratiosJson(scenario, impl, base));
                }
                i.set("notes", JSON.valueToTree(new ArrayList<>(impl.notes())));
                i.set("segments", JSON.valueToTree(impl.segments()));
            }
        }
        try
        {
            return JSON.writeValueAsString(root) + "\n";
        }
        catch (final com.fasterxml.jackson.core.JsonProcessingException e)
        {
            throw new IllegalStateException(e);
        }
    }
}
