package natgw.perf.bench.behave;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import natgw.tun.lab.Lab;
import natgw.tun.lab.Privileges;
import natgw.tun.lab.Role;
import natgw.tun.lab.Tools;

/**
 * {@code natgw bench behave}: the conformance suite. Builds a lab with a block of client addresses per row and a
 * second server address, starts a socket agent in the client and in the server namespace, then for the kernel and
 * for natgw starts the NAT once per setup and runs that setup's rows at the same time. Writes the table
 * (behave.txt, behave.md, behave.json) and returns the results.
 */
public final class BehaveSuite
{
    /** The tools the checks run besides the lab's. */
    public static final List<String> TOOLS = List.of("ip", "nft", "conntrack", "ping", "traceroute", "tracepath",
        "tcpdump", "timeout");
    private static final long ROW_TIMEOUT_S = 60;

    private BehaveSuite()
    {
    }

    /** One row's outcome. */
    public record Result(Row row, Observation kernel, Observation natgw, boolean pass)
    {
    }

    /**
     * Runs every row against both targets.
     *
     * @param only row keys to run (empty: all).
     */
    public static List<Result> run(final String prefix, final Path out, final boolean install, final List<String> only,
        final PrintStream progress) throws Exception
    {
        Privileges.requireNamespaceAdmin("natgw bench behave");
        Tools.require(TOOLS, install);
        final List<Row> rows = select(only);
        Files.createDirectories(out);
        final Path logs = Files.createDirectories(out.resolve("logs"));
        final List<Target> targets = List.of(new KernelTarget(), new NatgwTarget());
        final Map<Target, Map<Row, Observation>> observed = new LinkedHashMap<>();
        try (Lab lab = Lab.up(prefix, Rows.all().size() * RowEnv.CLIENTS_PER_ROW, false))
        {
            lab.exec(Role.SERVER, "ip", "addr", "add", RowEnv.SERVER_2 + "/24", "dev", Lab.SERVER_IF).orThrow();
            try (Agent client = Agent.start(lab, Role.CLIENT); Agent server = Agent.start(lab, Role.SERVER))
            {
                for (final Target target : targets)
                {
                    observed.put(target, runTarget(lab, target, rows, client, server, logs, progress));
                }
            }
        }
        final List<Result> results = new ArrayList<>();
        for (final Row row : rows)
        {
            final Observation kernel = observed.get(targets.get(0)).get(row);
            final Observation natgw = observed.get(targets.get(1)).get(row);
            results.add(new Result(row, kernel, natgw, row.judge().pass(natgw, kernel)));
        }
        BehaveReport.write(out, results, targets);
        return results;
    }

    static List<Row> select(final List<String> only)
    {
        final List<Row> all = Rows.all();
        if (only.isEmpty())
        {
            return all;
        }
        final List<Row> rows = new ArrayList<>();
        for (final String key : only)
        {
            rows.add(all.stream().filter(r -> r.key().equals(key)).findFirst().orElseThrow(() ->
                new IllegalArgumentException("unknown row '" + key + "'; rows: " +
                    String.join(", ", all.stream().map(Row::key).toList()))));
        }
        return rows;
    }

    private static Map<Row, Observation> runTarget(final Lab lab, final Target target, final List<Row> rows,
        final Agent client, final Agent server, final Path logs, final PrintStream progress) throws Exception
    {
        final Map<String, List<Row>> byStart = new LinkedHashMap<>();
        for (final Row row : rows)
        {
            byStart.computeIfAbsent(target.startKey(row.setup()), k -> new ArrayList<>()).add(row);
        }
        final Map<Row, Observation> observed = new LinkedHashMap<>();
        final List<String> keys = Rows.all().stream().map(Row::key).toList();
        for (final List<Row> group : byStart.values())
        {
            final Setup setup = group.get(0).setup();
            progress.println("behave: " + target.name() + " " + target.describe(setup) + ": " +
                String.join(", ", group.stream().map(Row::key).toList()));
            final Target.Session session;
            try
            {
                session = target.start(lab, setup, logs);
            }
            catch (final Target.Refused e)
            {
                group.forEach(row -> observed.put(row, Observation.failed(e.getMessage())));
                continue;
            }
            final ExecutorService pool = Executors.newFixedThreadPool(group.size());
            try
            {
                final Map<Row, Future<Observation>> futures = new LinkedHashMap<>();
                for (final Row row : group)
                {
                    final RowEnv env = new RowEnv(client, server, lab, target, session, keys.indexOf(row.key()), logs);
                    futures.put(row, pool.submit(() -> row.probe().run(env)));
                }
                for (final Map.Entry<Row, Future<Observation>> f : futures.entrySet())
                {
                    observed.put(f.getKey(), outcome(f.getValue()));
                }
            }
            finally
            {
                pool.shutdownNow();
                client.call("reset", 10_000);
                server.call("reset", 10_000);
                session.close();
            }
        }
        return observed;
    }

    private static Observation outcome(final Future<Observation> future) throws InterruptedException
    {
        try
        {
            return future.get(ROW_TIMEOUT_S, TimeUnit.SECONDS);
        }
        catch (final java.util.concurrent.ExecutionException e)
        {
            final Throwable cause = e.getCause();
            return Observation.failed("check failed: " + cause.getClass().getSimpleName() + ": " + cause.getMessage());
        }
        catch (final java.util.concurrent.TimeoutException e)
        {
            future.cancel(true);
            return Observation.failed("no result within " + ROW_TIMEOUT_S + " s");
        }
    }
}
