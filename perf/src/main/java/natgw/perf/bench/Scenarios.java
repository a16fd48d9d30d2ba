package natgw.perf.bench;

import java.util.List;

/** The scenarios {@code natgw bench} runs, by name. */
public final class Scenarios
{
    public static final List<String> NAMES = List.of("connect-storm", "throughput", "short-connections",
        "service-connect", "dns-a-aaaa", "rollout", "fragments", "time-wait");

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
            case "service-connect" -> ShortConnectionsScenario.serviceConnect();
            case "dns-a-aaaa" -> new DnsScenario();
            case "rollout" -> new RolloutScenario();
            case "fragments" -> new FragmentsScenario();
            case "time-wait" -> new TimeWaitScenario();
            default -> throw new IllegalArgumentException("unknown scenario '" + name + "'; known: " +
                String.join(", ", NAMES));
        };
    }
}
