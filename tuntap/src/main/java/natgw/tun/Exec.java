package natgw.tun;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs an external command to completion, off the hot path. Output goes to temporary files rather than
 * pipes, so a chatty command cannot block on a full pipe and a hung one is killed after its timeout.
 * <p>
 * The child starts in the network namespace of the calling thread (Linux copies the namespaces of the
 * thread that forks), which is what lets {@link HostNetwork} and {@link TestNetns} run {@code ip} in a
 * namespace entered with setns(2) on one thread.
 */
final class Exec
{
    static final long TIMEOUT_MS = 30_000;
    private static final String IP = findIp();

    private Exec()
    {
    }

    /** Path of iproute2's {@code ip}. */
    static String ipBinary()
    {
        return IP;
    }

    /** {@code ip args...}, with iproute2's binary found in the usual sbin directories even if not on PATH. */
    static CommandResult ip(final List<String> args)
    {
        final List<String> command = new ArrayList<>(args.size() + 1);
        command.add(IP);
        command.addAll(args);
        return run(command);
    }

    static CommandResult run(final List<String> command)
    {
        Path out = null;
        Path err = null;
        try
        {
            out = Files.createTempFile("natgw-exec", ".out");
            err = Files.createTempFile("natgw-exec", ".err");
            final Process process = new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .start();
            int exitCode;
            try
            {
                if (process.waitFor(TIMEOUT_MS, TimeUnit.MILLISECONDS))
                {
                    exitCode = process.exitValue();
                }
                else
                {
                    process.destroyForcibly().waitFor();
                    exitCode = -1;
                }
            }
            catch (final InterruptedException ex)
            {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
                exitCode = -1;
            }
            return new CommandResult(List.copyOf(command), exitCode,
                Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        }
        catch (final IOException ex)
        {
            final String hint = IP.equals(command.get(0)) ? " (is iproute2 installed?)" : "";
            throw new UncheckedIOException("cannot run `" + String.join(" ", command) + "`" + hint + ": " + ex.getMessage(), ex);
        }
        finally
        {
            deleteQuietly(out);
            deleteQuietly(err);
        }
    }

    private static void deleteQuietly(final Path path)
    {
        if (null != path)
        {
            try
            {
                Files.deleteIfExists(path);
            }
            catch (final IOException ignore)
            {
            }
        }
    }

    private static String findIp()
    {
        for (final String candidate : new String[]{ "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip" })
        {
            if (Files.isExecutable(Path.of(candidate)))
            {
                return candidate;
            }
        }
        return "ip";
    }
}
