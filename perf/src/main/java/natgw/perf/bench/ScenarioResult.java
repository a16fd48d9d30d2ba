package natgw.perf.bench;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * One scenario run: its implementations' results in run order, the parameters, and the conntrack columns this
 * kernel has (they differ between kernel versions).
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
    Map<String, String> throughputText)
{
}
