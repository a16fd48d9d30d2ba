package natgw.perf.sys;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs short system commands ({@code ip}, {@code nft}, {@code sysctl}) and captures their output.
 * Long-running processes go through {@link natgw.perf.lab.Lab#start}.
 */
public final class Exec
{
    /** Exit code used when a command did not finish within its timeout. */
    public static final int TIMED_OUT = 124;

    private Exec()
    {
    }

    /** Outcome of one command: exit code and captured output. */
    public record Result(List<String> command, int exitCode, String stdout, String stderr)
    {
        public boolean ok()
        {
            return exitCode == 0;
        }

        /** Throws with the command, exit code and stderr when the command failed. */
        public Result orThrow()
        {
            if (exitCode != 0)
            {
                throw new CommandFailedException(this);
            }
            return this;
        }
    }

    /** A command that exited non-zero; the message names the command and quotes its stderr. */
    public static final class CommandFailedException extends RuntimeException
    {
        private final transient Result result;

        public CommandFailedException(final Result result)
        {
            super("command failed (exit " + result.exitCode() + "): " + String.join(" ", result.command()) +
                (result.stderr().isBlank() ? "" : ": " + result.stderr().strip()));
            this.result = result;
        }

        public Result result()
        {
            return result;
        }
    }

    public static Result run(final String... command)
    {
        return run(Arrays.asList(command), null, 60_000);
    }

    public static Result run(final List<String> command)
    {
        return run(command, null, 60_000);
    }

    /**
     * Runs a command to completion, feeding {@code stdin} (may be null) and capturing stdout and stderr.
     * A command that does not finish within {@code timeoutMs} is killed and reported with exit code
     * {@link #TIMED_OUT}.
     */
    public static Result run(final List<String> command, final String stdin, final long timeoutMs)
    {
        final List<String> cmd = new ArrayList<>(command);
        final Process process;
        try
        {
            process = new ProcessBuilder(cmd).start();
        }
        catch (final IOException e)
        {
            return new Result(cmd, 127, "", "cannot start " + cmd.get(0) + ": " + e.getMessage());
        }
        final StreamSink out = new StreamSink(process.getInputStream());
        final StreamSink err = new StreamSink(process.getErrorStream());
        out.start();
        err.start();
        try
        {
            try (var os = process.getOutputStream())
            {
                if (stdin != null)
                {
                    os.write(stdin.getBytes(StandardCharsets.UTF_8));
                }
            }
            catch (final IOException ignored)
            {
                // the command closed its stdin early; its exit code tells the rest
            }
            final boolean finished = process.waitFor(timeoutMs, TimeUnit.MILLISECONDS);
            if (!finished)
            {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
            out.join(5_000);
            err.join(5_000);
            return new Result(cmd, finished ? process.exitValue() : TIMED_OUT, out.text(), err.text());
        }
        catch (final InterruptedException e)
        {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            return new Result(cmd, TIMED_OUT, out.text(), "interrupted");
        }
    }

    /** Runs a command and throws {@link CommandFailedException} unless it exits 0. */
    public static Result check(final String... command)
    {
        return run(command).orThrow();
    }

    /** True when {@code tool} is an executable on PATH (or an absolute path to one). */
    public static boolean onPath(final String tool)
    {
        if (tool.indexOf('/') >= 0)
        {
            return new java.io.File(tool).canExecute();
        }
        final String path = System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        for (final String dir : (path + ":/usr/sbin:/sbin").split(":"))
        {
            if (!dir.isEmpty() && new java.io.File(dir, tool).canExecute())
            {
                return true;
            }
        }
        return false;
    }

    private static final class StreamSink extends Thread
    {
        private final InputStream in;
        private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();

        StreamSink(final InputStream in)
        {
            this.in = in;
            setDaemon(true);
        }

        @Override
        public void run()
        {
            try
            {
                in.transferTo(buffer);
            }
            catch (final IOException e)
            {
                // process gone; keep what was read
            }
        }

        String text()
        {
            return buffer.toString(StandardCharsets.UTF_8);
        }
    }
}
