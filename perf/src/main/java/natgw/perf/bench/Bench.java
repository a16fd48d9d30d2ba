package natgw.perf.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import natgw.perf.lab.Lab;
import natgw.perf.report.ReportWriter;
import natgw.perf.sys.Privileges;
import natgw.perf.sys.Tools;

/**
 * Entry point of {@code natgw bench} and {@code natgw demo}: builds a lab, runs scenarios through the chosen
 * implementations, writes the report, removes the lab (also on failure or Ctrl-C).
 */
public final class Bench
{
    /** What a run produced. */
    public record Outcome(Path dir, ReportWriter.WrittenFiles files, List<ScenarioResult> scenarios)
    {
    }

    private Bench()
    {
    }

    /**
     * Runs each named scenario, one after the other, on one lab with these options; writes one report for all.
     *
     * @param title   report title.
     * @param command the command line, quoted in the report.
     */
    public static Outcome run(final List<String> scenarioNames, final BenchOptions options, final String title,
        final String command, final Progress progress, final PrintStream out) throws Exception
    {
        final List<Scenario> scenarios = new ArrayList<>();
        for (final String name : scenarioNames)
        {
            scenarios.add(Scenarios.byName(name));
        }
        final Map<Scenario, List<Implementation>> impls = new LinkedHashMap<>();
        final Set<String> tools = new LinkedHashSet<>();
        for (final Scenario scenario : scenarios)
        {
            final List<Implementation> selected = Implementations.select(options.impls, scenario.defaultImpls(),
                options.nulltun);
            impls.put(scenario, selected);
            tools.addAll(BenchRunner.requiredTools(scenario, selected));
        }
        if (options.blocks < 1)
        {
            throw new IllegalArgumentException("--blocks must be at least 1");
        }
        Privileges.requireNamespaceAdmin("natgw " + (title.contains("demo") ? "demo" : "bench"));
        Tools.require(new ArrayList<>(tools), options.install);

        final Path dir = options.out != null ? options.out : Path.of("bench-out",
            String.join("+", scenarioNames) + "-" +
                LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        Files.createDirectories(dir);
        final List<ScenarioResult> results = new ArrayList<>();
        try (Lab lab = Lab.up(options.prefix, options.clients))
        {
            final BenchContext context = new BenchContext(lab, dir, options, progress);
            for (final Scenario scenario : scenarios)
            {
                final ScenarioResult result = BenchRunner.run(scenario, impls.get(scenario), context);
                results.add(result);
                if (out != null)
                {
                    out.println();
                    out.print(ReportWriter.terminalTable(result));
                    out.flush();
                }
            }
        }
        final ReportWriter.WrittenFiles files = ReportWriter.write(dir, new ReportWriter.RunInfo(title, command,
            hostInfo(), Instant.now()), results);
        return new Outcome(dir, files, results);
    }

    /** Kernel, CPUs, CPU model and JVM, for the report header. */
    public static Map<String, String> hostInfo()
    {
        final Map<String, String> host = new LinkedHashMap<>();
        host.put("Linux", read("/proc/sys/kernel/osrelease"));
        host.put("CPUs", String.valueOf(Runtime.getRuntime().availableProcessors()));
        for (final String line : read("/proc/cpuinfo").split("\n"))
        {
            if (line.startsWith("model name"))
            {
                host.put("model", line.substring(line.indexOf(':') + 1).strip());
                break;
            }
        }
        host.put("Java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        return host;
    }

    private static String read(final String file)
    {
        try
        {
            return Files.readString(Path.of(file)).strip();
        }
        catch (final IOException e)
        {
            return "?";
        }
    }
}
