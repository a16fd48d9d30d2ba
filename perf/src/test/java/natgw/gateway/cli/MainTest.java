package natgw.gateway.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

import natgw.gateway.GatewayConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The help of every natgw command, and the shape of a refused command line; in-process, nothing runs. Here, not in
 * the gateway module: the CLI under test is the whole one, with perf's verbs found as {@link ExtensionCommand}s.
 */
class MainTest
{
    /** picocli's default usage width; natgw does not widen it to the terminal. */
    private static final int WIDTH = 80;

    record Output(int exit, String out, String err)
    {
    }

    private static Output natgw(final String... args)
    {
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final CommandLine line = Main.commandLine();
        line.setOut(new PrintWriter(out));
        line.setErr(new PrintWriter(err));
        final int exit = line.execute(args);
        return new Output(exit, out.toString(), err.toString());
    }

    private static List<CommandLine> everyCommand()
    {
        final List<CommandLine> all = new ArrayList<>();
        final List<CommandLine> todo = new ArrayList<>(List.of(Main.commandLine()));
        while (!todo.isEmpty())
        {
            final CommandLine command = todo.remove(0);
            all.add(command);
            todo.addAll(command.getSubcommands().values());
        }
        return all;
    }

    private static String help(final CommandLine command)
    {
        return command.getUsageMessage(CommandLine.Help.Ansi.OFF);
    }

    @Test
    void shouldFitEveryHelpIntoTheUsageWidth()
    {
        for (final CommandLine command : everyCommand())
        {
            for (final String line : help(command).lines().toList())
            {
                assertTrue(line.length() <= WIDTH, command.getCommandSpec().qualifiedName() + ": " + line.length() +
                    " columns: " + line);
            }
        }
    }

    @Test
    void shouldWriteDescriptionsAsWholeSentencesForPicocliToWrap()
    {
        for (final CommandLine command : everyCommand())
        {
            final CommandSpec spec = command.getCommandSpec();
            final String[] description = spec.usageMessage().description();
            assertTrue(description.length > 0, spec.qualifiedName());
            // the command list shows the first element: it must be a whole sentence
            assertTrue(description[0].endsWith("."), spec.qualifiedName() + ": '" + description[0] + "'");
            for (final String text : description)
            {
                final String paragraph = text.replace("%n", "");
                // prose ends its sentence; a preformatted row (indented) fits the width on its own
                assertTrue(paragraph.endsWith(".") || paragraph.endsWith(":") || paragraph.startsWith("  ") &&
                    paragraph.length() <= WIDTH, spec.qualifiedName() + ": a hand-broken line? '" + paragraph + "'");
            }
        }
    }

    @Test
    void shouldListEveryCommandWithItsWholeFirstSentence()
    {
        final String list = natgw("--help").out();
        final String commands = list.substring(list.indexOf("Commands:"));
        // an entry and its continuation lines, joined
        final List<String> entries = new ArrayList<>();
        for (final String line : commands.lines().skip(1).toList())
        {
            if (line.startsWith("    "))
            {
                entries.set(entries.size() - 1, entries.get(entries.size() - 1) + " " + line.strip());
            }
            else
            {
                entries.add(line.strip());
            }
        }
        assertEquals(Main.commandLine().getSubcommands().size(), entries.size(), commands);
        for (final String entry : entries)
        {
            assertTrue(entry.endsWith("."), "cut mid-sentence: " + entry);
        }
    }

    @Test
    void shouldPrintTheVersionFromEveryCommand()
    {
        assertEquals(Main.VERSION + "\n", natgw("-V").out());
        assertEquals(Main.VERSION + "\n", natgw("run", "-V").out());
        assertEquals(Main.VERSION + "\n", natgw("lab", "up", "--version").out());
        for (final CommandLine command : everyCommand())
        {
            assertEquals(List.of(Main.VERSION), List.of(command.getCommandSpec().version()),
                command.getCommandSpec().qualifiedName());
        }
    }

    @Test
    void shouldShowRunsOptionsAsTheyAreWrittenWithExamples()
    {
        final String run = natgw("run", "--help").out();
        assertTrue(run.contains("--inside=CIDR[,CIDR...]\n"), run);
        assertFalse(run.contains("[,CIDR[,CIDR"), run);
        assertTrue(run.startsWith("Usage: natgw run --inside CIDR[,CIDR...] --snat ADDR[,ADDR...]|CIDR [OPTIONS]\n"), run);
        assertTrue(run.contains("\nExamples:\n  natgw run --inside 172.18.0.0/16 --snat 192.0.2.10 --steer br0\n"), run);
        assertTrue(run.contains("(default: " + GatewayConfig.DEFAULT_TUN_TX_QUEUE_LENGTH + "; the kernel's is 500)"), run);
    }

    @Test
    void shouldShowTheSameTunQueueDefaultInBenchAsInRun()
    {
        final String bench = natgw("bench", "--help").out().replaceAll("\\s+", " ");
        assertTrue(bench.contains("(default: " + GatewayConfig.DEFAULT_TUN_TX_QUEUE_LENGTH + ", as natgw run's)"), bench);
        assertEquals(String.valueOf(GatewayConfig.DEFAULT_TUN_TX_QUEUE_LENGTH),
            Main.commandLine().getSubcommands().get("bench").getCommandSpec().findOption("--tun-txqueuelen").defaultValue());
        assertEquals(GatewayConfig.DEFAULT_TUN_TX_QUEUE_LENGTH, new RunCommand().tunTxQueueLength);
    }

    @Test
    void shouldDocumentServiceActionsAndTheirArguments()
    {
        final String service = natgw("service", "--help").out();
        assertTrue(service.startsWith("Usage: natgw service [-hV] [--tun=NAME] add|set|del ARGS...\n"), service);
        for (final String documented : List.of(
            "  add PROTO:VIP:PORT[/SCHED[/AFFINITY_S]][=BACKEND:PORT[@W],...]\n",
            "  set PROTO:VIP:PORT BACKEND:PORT weight W\n",
            "  del PROTO:VIP:PORT [BACKEND:PORT]\n",
            "      add|set|del   add a service",
            "      ARGS...       the service and backends"))
        {
            assertTrue(service.contains(documented), documented + " in\n" + service);
        }
        final Output refused = natgw("service", "drain", "tcp:10.96.0.30:443");
        assertEquals(2, refused.exit());
        assertEquals("natgw: add|set|del: 'drain' is not an action; give add, set or del\nsee natgw service --help\n",
            refused.err());
    }

    @Test
    void shouldShowCleanupsTunAsOptionalWithItsDefault()
    {
        final String cleanup = natgw("cleanup", "--help").out();
        assertTrue(cleanup.startsWith("Usage: natgw cleanup [-hV] [TUN]\n"), cleanup);
        assertTrue(cleanup.contains("(default: natgw0)"), cleanup);
    }

    @Test
    void shouldRefuseABadCommandLineWithOneLineAndWhereTheHelpIs()
    {
        final String[][] cases = {
            { "frobnicate" },
            { "rnu", "--inside", "10.0.0.0/8" },
            { "bench" },
            { "conntrack" },
            { "conntrack", "-L", "-S" },
            { "lab", "up", "--clients", "many" },
            { "cleanup", "a", "b" },
            { "run", "--inside" },
            { "help", "rnu" },
            { "-Q" },
        };
        final String[] expected = {
            "natgw: 'frobnicate' is not a natgw command; the commands are help, run, conntrack, cleanup, services, " +
                "service, lab, bench, demo\nsee natgw --help\n",
            "natgw: 'rnu' is not a natgw command; did you mean run?\nsee natgw --help\n",
            "natgw: SCENARIO: missing (connect-storm, throughput, short-connections, service-connect, dns-a-aaaa, " +
                "rollout, fragments, time-wait or behave)\nsee natgw bench --help\n",
            "natgw: one of -L/--dump, -G/--get, -D/--delete, -C/--count, -S/--stats, -E/--event, -F/--flush, -M/--mappings is needed\n" +
                "see natgw conntrack --help\n",
            "natgw: --dump, --stats: they exclude each other; give one\nsee natgw conntrack --help\n",
            "natgw: --clients: 'many' is not a whole number; give digits only, e.g. --clients 40\n" +
                "see natgw lab up --help\n",
            "natgw: 'b': natgw cleanup takes fewer arguments\nsee natgw cleanup --help\n",
            "natgw: --inside: needs a value (CIDR)\nsee natgw run --help\n",
            "natgw: 'rnu' is not a natgw command; the commands are help, run, conntrack, cleanup, services, " +
                "service, lab, bench, demo\nsee natgw --help\n",
            "natgw: -Q: natgw has no such option\nsee natgw --help\n",
        };
        for (int i = 0; i < cases.length; i++)
        {
            final Output output = natgw(cases[i]);
            assertEquals(2, output.exit(), String.join(" ", cases[i]));
            assertEquals("", output.out());
            if (expected[i] != null)
            {
                assertEquals(expected[i], output.err());
            }
            final List<String> lines = output.err().lines().toList();
            assertEquals(2, lines.size(), output.err());
            assertTrue(lines.get(0).startsWith("natgw: ") && lines.get(1).startsWith("see natgw"), output.err());
            assertFalse(output.err().matches("(?s).*\\b[a-z]+\\.[a-z.]+\\.[A-Z]\\w*(Exception|Error)\\b.*"), output.err());
        }
    }

    @Test
    void shouldSayAFailureInWordsWithoutJavaClassNames()
    {
        assertEquals("/run/natgw/.lock: permission denied",
            Messages.failure(new java.io.UncheckedIOException(new java.nio.file.AccessDeniedException("/run/natgw/.lock"))));
        assertEquals("cannot read /x: no such file",
            Messages.failure(new IllegalStateException("cannot read /x: java.nio.file.NoSuchFileException: no such file")));
        assertEquals("internal error; run again with NATGW_JAVA_OPTS=-Dnatgw.debug=true to see where it happened",
            Messages.failure(new NullPointerException()));
        assertEquals("no TUN", Messages.failure(new RuntimeException(new IllegalStateException("no TUN"))));
    }
}
