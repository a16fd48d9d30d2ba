package natgw.perf.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import natgw.perf.load.LoadResult;
import org.HdrHistogram.Histogram;

/**
 * Everything measured for one implementation in one scenario run, merged over its segments: histograms added,
 * counts and conntrack counters summed, per-segment values (throughputs) kept and summarised by their median.
 */
public final class ImplResult
{
    /** One segment's figures, kept for the JSON summary. */
    public record Segment(int block, Map<String, Long> counts, Map<String, Double> values, Map<String, Long> counters)
    {
    }

    private final String name;
    private final String description;
    private final String sameModeTun;
    private final Map<String, Histogram> histograms = new LinkedHashMap<>();
    /** Each metric's histogram block by block, for ratios taken within a block. */
    private final Map<String, Map<Integer, Histogram>> blockHistograms = new LinkedHashMap<>();
    private final Map<String, Long> counts = new LinkedHashMap<>();
    private final Map<String, List<Double>> values = new LinkedHashMap<>();
    private final Map<String, Long> counters = new LinkedHashMap<>();
    private final Set<String> notes = new LinkedHashSet<>();
    private final List<Segment> segments = new ArrayList<>();
    private String unavailable;

    /** An implementation without a TUN (the kernel's paths). */
    public ImplResult(final String name, final String description)
    {
        this(name, description, null);
    }

    /** @param sameModeTun the TUN ceiling this implementation is judged against ({@link Implementation#sameModeTun()}). */
    public ImplResult(final String name, final String description, final String sameModeTun)
    {
        this.name = name;
        this.description = description;
        this.sameModeTun = sameModeTun;
    }

    /** Merges one segment's load result and the implementation's counters over that segment. */
    public void add(final int block, final LoadResult result, final Map<String, Long> segmentCounters)
    {
        for (final Map.Entry<String, Histogram> e : result.histograms().entrySet())
        {
            histograms.computeIfAbsent(e.getKey(), k -> LoadResult.newHistogram()).add(e.getValue());
            blockHistograms.computeIfAbsent(e.getKey(), k -> new TreeMap<>())
                .computeIfAbsent(block, k -> LoadResult.newHistogram()).add(e.getValue());
        }
        result.counts().forEach((k, v) -> counts.merge(k, v, Long::sum));
        result.values().forEach((k, v) -> values.computeIfAbsent(k, x -> new ArrayList<>()).add(v));
        ConntrackStats.accumulate(counters, segmentCounters);
        segments.add(new Segment(block, new LinkedHashMap<>(result.counts()), new LinkedHashMap<>(result.values()),
            new LinkedHashMap<>(segmentCounters)));
    }

    public void markUnavailable(final String reason)
    {
        unavailable = reason;
    }

    public void note(final String note)
    {
        notes.add(note);
    }

    public String name()
    {
        return name;
    }

    public String description()
    {
        return description;
    }

    /** The nulltun row in this implementation's offload mode, null for the kernel's paths. */
    public String sameModeTun()
    {
        return sameModeTun;
    }

    /** Null when the implementation ran; else why it could not. */
    public String unavailable()
    {
        return unavailable;
    }

    public boolean ran()
    {
        return !segments.isEmpty();
    }

    public Map<String, Histogram> histograms()
    {
        return histograms;
    }

    public Histogram histogram(final String metric)
    {
        return histograms.get(metric);
    }

    /** The metric's histogram of one block's segment, null when the implementation has none there. */
    public Histogram blockHistogram(final String metric, final int block)
    {
        final Map<Integer, Histogram> blocks = blockHistograms.get(metric);
        return blocks == null ? null : blocks.get(block);
    }

    /** The blocks this implementation ran a segment in, in order. */
    public List<Integer> blocks()
    {
        return segments.stream().map(Segment::block).distinct().sorted().toList();
    }

    public Map<String, Long> counts()
    {
        return counts;
    }

    public long count(final String name)
    {
        return counts.getOrDefault(name, 0L);
    }

    public Map<String, List<Double>> values()
    {
        return values;
    }

    /** Median over segments of a per-segment value, NaN when absent. */
    public double median(final String name)
    {
        return median(values.get(name));
    }

    /** The median of {@code list}, NaN when it is null or empty. */
    public static double median(final List<Double> list)
    {
        if (list == null || list.isEmpty())
        {
            return Double.NaN;
        }
        final List<Double> sorted = new ArrayList<>(list);
        sorted.sort(Double::compare);
        final int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    /** Conntrack counters summed over segments; empty when the implementation has none. */
    public Map<String, Long> counters()
    {
        return counters;
    }

    /** A conntrack counter, or null when this implementation does not report it. */
    public Long counter(final String name)
    {
        return counters.get(name);
    }

    public Set<String> notes()
    {
        return notes;
    }

    public List<Segment> segments()
    {
        return segments;
    }
}
