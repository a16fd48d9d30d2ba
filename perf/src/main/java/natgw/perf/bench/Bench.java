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

import natgw.perf.report.ReportWriter;
import natgw.tun.CommandResult;
import natgw.tun.lab.Lab;
import natgw.tun.lab.Privileges;
import natgw.tun.lab.Tools;

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

    /** One scenario with its own options (implementations, rounds, duration...). */
    public record Plan(String scenario, BenchOptions options)
    {
    }

    /** Runs one scenario; see {@link #run(List, String, String, Path, boolean, Progress, PrintStream)}. */
    public static Outcome run(final String scenario, final BenchOptions options, final String title,
        final String command, final Progress progress, final PrintStream out) throws Exception
    {
        return run(List.of(new Plan(scenario, options)), title, command, options.out, false, progress, out);
    }

    /**
     * Runs the plans one after the other on one lab (prefix, clients and tool installation from the first plan)
     * and writes one report for all of them.
     *
     * @param title      report title.
     * @param command    the command line, quoted in the report.
     * @param out        output directory, or null for bench-out/NAMES-TIMESTAMP.
     * @param rebuildLab remove a lab left with the same prefix (by a killed run) instead of refusing.
     * @param terminal   tables are printed here as each scenario ends; may be null.
     */
    public static Outcome run(final List<Plan> plans, final String title, final String command, final Path out,
        final boolean rebuildLab, final Progress progress, final PrintStream terminal) throws Exception
    {
        final BenchOptions labOptions = plans.get(0).options();
        final List<Scenario> scenarios = new ArrayList<>();
        final List<List<Implementation>> impls = new ArrayList<>();
        final Set<String> tools = new LinkedHashSet<>();
        final List<String> names = new ArrayList<>();
        for (final Plan plan : plans)
        {
            final Scenario scenario = Scenarios.byName(plan.scenario());
            final List<Implementation> selected = Implementations.select(plan.options().impls,
                scenario.defaultImpls(), plan.options().nulltun, scenario.dnat());
            if (plan.options().blocks < 1)
            {
                throw new IllegalArgumentException("--blocks must be at least 1");
            }
            if (scenario instanceof ThroughputScenario)
            {
                ThroughputScenario.validate(plan.options());
            }
            if (scenario instanceof ShortConnectionsScenario)
            {
                ShortConnectionsScenario.validate(plan.options());
            }
            if (scenario instanceof FragmentsScenario)
            {
                FragmentsScenario.validate(plan.options());
            }
            if (scenario instanceof TimeWaitScenario)
            {
                TimeWaitScenario.validate(plan.options());
            }
            scenarios.add(scenario);
            impls.add(selected);
            names.add(scenario.name());
            tools.addAll(BenchRunner.requiredTools(scenario, selected));
        }
        Privileges.requireNamespaceAdmin(title.startsWith("natgw") ? title.split(":")[0] : "natgw bench");
        Tools.require(new ArrayList<>(tools), labOptions.install);

        final Path dir = out != null ? out : Path.of("bench-out", String.join("+", names) + "-" +
            LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        Files.createDirectories(dir);
        final List<ScenarioResult> results = new ArrayList<>();
        try (Lab lab = Lab.up(labOptions.prefix, labOptions.clients, rebuildLab))
        {
            for (int i = 0; i < plans.size(); i++)
            {
                final BenchContext context = new BenchContext(lab, dir, plans.get(i).options(), progress);
                final ScenarioResult result = BenchRunner.run(scenarios.get(i), impls.get(i), context);
                results.add(result);
                if (terminal != null)
                {
                    terminal.println();
                    terminal.print(ReportWriter.terminalTable(result));
                    terminal.flush();
                }
            }
        }
        final ReportWriter.WrittenFiles files = ReportWriter.write(dir, new ReportWriter.RunInfo(title, command,
            hostInfo(), Instant.now()), results);
        return new Outcome(dir, files, results);
    }

    /** Kernel, CPUs, CPU model, JVM, natgw commit and load average (1, 5, 15 min), for the report header. */
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
        final String commit = gitCommit();
        if (commit != null)
        {
            host.put("natgw commit", commit);
        }
        // the machine may be shared: say how busy it was when the report was written
        final String[] load = read("/proc/loadavg").split("\\s+");
        host.put("load average 1/5/15 min at the end", load.length >= 3 ? load[0] + " " + load[1] + " " + load[2] : "?");
        return host;
    }

    /**
     * The commit of the natgw checkout this runs from ({@code natgw.home}, set by the launcher, else the working
     * directory), with {@code -dirty} when it has local changes; null when that is not a git checkout.
     */
    static String gitCommit()
    {
        final String dir = System.getProperty("natgw.home", ".");
        final natgw.tun.CommandResult head = natgw.tun.Exec.run("git", "-C", dir, "rev-parse", "--short=7",
            "HEAD");
        if (!head.ok())
        {
            return null;
        }
        final natgw.tun.CommandResult status = natgw.tun.Exec.run("git", "-C", dir, "status", "--porcelain",
            "--untracked-files=no");
        return head.stdout().strip() + (status.ok() && !status.stdout().isBlank() ? "-dirty" : "");
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
