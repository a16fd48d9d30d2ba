package natgw.perf.bench;

import java.util.List;

/** The scenarios {@code natgw bench} runs, by name. */
public final class Scenarios
{
    public static final List<String> NAMES = List.of("connect-storm", "throughput", "short-connections");
    /** Specified in the benchmark issue; need DNAT services, which do not exist yet. */
    public static final List<String> LATER = List.of("dns-a-aaaa", "rollout");

    private Scenarios()
    {
    }

    public static Scenario byName(final String name)
    {
        return switch (name)
        {
            case "connect-storm" -> new ConnectStormScenario();
            case "throughput" -> new ThroughputScenario();
            case "short-connections" -> new ShortConnectionsScenario();
            default -> throw new IllegalArgumentException(LATER.contains(name) ?
                "scenario '" + name + "' needs natgw's DNAT services, which do not exist yet" :
                "unknown scenario '" + name + "'; known: " + String.join(", ", NAMES));
        };
    }
}
