package natgw.perf.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import natgw.perf.lab.LabProcess;
import natgw.perf.lab.Role;
import natgw.perf.load.LoadResult;
import natgw.perf.sys.JavaCommand;

/** Runs a Java load generator of natgw.perf.load in a lab namespace and reads back its {@link LoadResult}. */
final class LoadRunner
{
    private LoadRunner()
    {
    }

    static LoadResult run(final BenchContext context, final Role role, final Class<?> mainClass,
        final List<String> args, final String segmentName, final long timeoutMs, final Consumer<String> progress)
        throws IOException, InterruptedException
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
        try (LabProcess process = context.lab().start(role, command, log,
            line -> forward(line, progress)))
        {
            final int exit = process.waitFor(timeoutMs);
            if (exit != 0 || !Files.exists(resultFile))
            {
                throw new IllegalStateException(mainClass.getSimpleName() + " in " + role.label() + " " +
                    (exit == -1 ? "did not finish within " + timeoutMs / 1000 + " s" : "exited with " + exit) +
                    ": " + process.tail(5));
            }
        }
        return LoadResult.read(resultFile);
    }

    private static void forward(final String line, final Consumer<String> progress)
    {
        if (progress != null && line.startsWith("progress "))
        {
            progress.accept(line.substring("progress ".length()));
        }
    }
}
