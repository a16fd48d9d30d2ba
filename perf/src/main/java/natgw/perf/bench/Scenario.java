package natgw.perf.bench;

import java.util.List;

import natgw.perf.load.LoadResult;

/**
 * A workload run through every implementation of a run, one segment per implementation and block. The harness
 * activates the implementation, calls {@link #runSegment}, reads the implementation's counters and deactivates it.
 */
public interface Scenario
{
    String name();

    /** One paragraph for the report: what the load is and what it shows. */
    String description();

    /**
     * True for the DNAT scenarios: traffic goes to a service VIP, so only implementations with DNAT can carry it
     * ({@link Implementations#DNAT}).
     */
    default boolean dnat()
    {
        return false;
    }

    /** Implementations run when --impl is not given. */
    List<String> defaultImpls();

    /** System tools needed besides those of the implementations; none by default. */
    default List<String> requiredTools()
    {
        return List.of();
    }

    /** Latency histograms this scenario records, in report order (each gets a plot and a table). */
    List<String> metrics();

    /** Counts of the load result shown as table columns of their own ({@code lost}, {@code split}...). */
    default List<ScenarioResult.Column> extraColumns()
    {
        return List.of();
    }

    /** Per-segment values (throughputs, higher is better) the report draws and quotes as ratios. */
    default List<ScenarioResult.Figure> figures(final BenchOptions options)
    {
        return List.of();
    }

    /** Starts what stays up for the whole run (servers), compiles tools. */
    void prepare(BenchContext context) throws Exception;

    /**
     * Runs one segment through the active implementation.
     *
     * @param segmentName unique name for files of this segment ({@code natgw-reserve-b1}).
     * @param block       index of this block, 0-based; {@code blocks} in all.
     */
    LoadResult runSegment(BenchContext context, String impl, String segmentName, int block, int blocks)
        throws Exception;

    /** The throughput cell of the table, from the merged result of one implementation. */
    String throughputText(ImplResult result);

    /** Stops what {@link #prepare} started; called even when the run fails. */
    void finish(BenchContext context);
}
