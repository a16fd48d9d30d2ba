package natgw.perf.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Predicate;

import natgw.perf.load.LoadResult;
import natgw.tun.lab.JavaCommand;
import natgw.tun.lab.LabProcess;
import natgw.tun.lab.Role;

/** Runs a Java load generator of natgw.perf.load in a lab namespace and reads back its {@link LoadResult}. */
final class LoadRunner
{
    private LoadRunner()
    {
    }

    /** A load generator running in the background; {@link #await} reads its result. */
    static final class Running implements AutoCloseable
    {
        private final LabProcess process;
        private final Path resultFile;
        private final String name;
        private final Role role;

        private Running(final LabProcess process, final Path resultFile, final String name, final Role role)
        {
            this.process = process;
            this.resultFile = resultFile;
            this.name = name;
            this.role = role;
        }

        /** Waits for an output line of the load generator (e.g. {@code measuring}); false on timeout or exit. */
        boolean awaitLine(final Predicate<String> match, final long timeoutMs) throws InterruptedException
        {
            return process.awaitLine(match, timeoutMs);
        }

        /** Waits for the load generator to finish and reads its result; throws when it failed. */
        LoadResult await(final long timeoutMs) throws IOException, InterruptedException
        {
            final int exit = process.waitFor(timeoutMs);
            if (exit != 0 || !Files.exists(resultFile))
            {
                throw new IllegalStateException(name + " in " + role.label() + " " +
                    (exit == -1 ? "did not finish within " + timeoutMs / 1000 + " s" : "exited with " + exit) +
                    ": " + process.tail(5));
            }
            return LoadResult.read(resultFile);
        }

        @Override
        public void close()
        {
            process.close();
        }
    }

    static LoadResult run(final BenchContext context, final Role role, final Class<?> mainClass,
        final List<String> args, final String segmentName, final long timeoutMs, final Consumer<String> progress)
        throws IOException, InterruptedException
    {
        try (Running running = start(context, role, mainClass, args, segmentName, progress))
        {
            return running.await(timeoutMs);
        }
    }

    static Running start(final BenchContext context, final Role role, final Class<?> mainClass,
        final List<String> args, final String segmentName, final Consumer<String> progress) throws IOException
    {
        final Path raw = context.outDir().resolve("raw");
        Files.createDirectories(raw);
        final Path resultFile = raw.resolve(segmentName + ".json");
        Files.deleteIfExists(resultFile);
        final List<String> all = new ArrayList<>(args);
        all.add("--out");
        all.add(resultFile.toAbsolutePath().toString());
        final List<String> command = JavaCommand.of(List.of("-Xms128m", "-Xmx512m"), mainClass.getName(), all);
        final Path log = context.logsDir().resolve(segmentName + "." + mainClass.getSimpleName() + ".log");
        final LabProcess process = context.lab().start(role, command, log, line -> forward(line, progress));
        return new Running(process, resultFile, mainClass.getSimpleName(), role);
    }

    private static void forward(final String line, final Consumer<String> progress)
    {
        if (progress != null && line.startsWith("progress "))
        {
            progress.accept(line.substring("progress ".length()));
        }
    }
}
