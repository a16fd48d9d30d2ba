package natgw.tun;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs short external commands ({@code ip}, {@code nft}, {@code sysctl}) to completion, off the hot path, and
 * captures their output. The one command runner of the project, with the shell's conventions: a command that
 * does not finish within its timeout is killed and reported with exit code {@link #TIMED_OUT} (as
 * {@code timeout(1)} does), one that cannot be started with {@link #NOT_STARTED} and the reason on stderr (as
 * the shell does). Neither throws: callers decide with {@link CommandResult#ok()} or
 * {@link CommandResult#orThrow()}.
 * <p>
 * Output is drained by two threads while the command runs, so a chatty command cannot block on a full pipe.
 * The child starts in the network namespace of the calling thread (Linux copies the namespaces of the thread
 * that forks), which is what lets {@link HostNetwork} run {@code ip} in a namespace entered with setns(2) on one
 * thread.
 */
public final class Exec
{
    /** Exit code of a command that did not finish within its timeout (and was killed). */
    public static final int TIMED_OUT = 124;
    /** Exit code of a command that could not be started (no such binary, no permission). */
    public static final int NOT_STARTED = 127;
    /** Timeout of {@link #ip} calls: iproute2 answers in milliseconds unless the kernel is stuck. */
    static final long IP_TIMEOUT_MS = 30_000;
    /** Timeout of {@link #run(List)} and {@link #run(String...)}. */
    public static final long DEFAULT_TIMEOUT_MS = 60_000;
    private static final String IP = findIp();

    private Exec()
    {
    }

    /** A command that exited non-zero; the message names the command and quotes its stderr. */
    public static final class CommandFailedException extends RuntimeException
    {
        private static final long serialVersionUID = 1L;

        private final transient CommandResult result;

        public CommandFailedException(final CommandResult result)
        {
            super("command failed (exit " + result.exitCode() + "): " + String.join(" ", result.command()) +
                (result.stderr().isBlank() ? "" : ": " + result.stderr().strip()));
            this.result = result;
        }

        public CommandResult result()
        {
            return result;
        }
    }

    /** Path of iproute2's {@code ip}. */
    public static String ipBinary()
    {
        return IP;
    }

    /** {@code ip args...}, with iproute2's binary found in the usual sbin directories even if not on PATH. */
    public static CommandResult ip(final List<String> args)
    {
        final List<String> command = new ArrayList<>(args.size() + 1);
        command.add(IP);
        command.addAll(args);
        return run(command, null, IP_TIMEOUT_MS);
    }

    public static CommandResult run(final String... command)
    {
        return run(Arrays.asList(command), null, DEFAULT_TIMEOUT_MS);
    }

    public static CommandResult run(final List<String> command)
    {
        return run(command, null, DEFAULT_TIMEOUT_MS);
    }

    /** Runs a command and throws {@link CommandFailedException} unless it exits 0. */
    public static CommandResult check(final String... command)
    {
        return run(command).orThrow();
    }

    /**
     * Runs a command to completion, feeding {@code stdin} (may be null) and capturing stdout and stderr.
     * Stdin is /dev/null when {@code stdin} is null.
     */
    public static CommandResult run(final List<String> command, final String stdin, final long timeoutMs)
    {
        final List<String> cmd = List.copyOf(command);
        final Process process;
        try
        {
            final ProcessBuilder builder = new ProcessBuilder(cmd);
            if (null == stdin)
            {
                builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            }
            process = builder.start();
        }
        catch (final IOException ex)
        {
            final String hint = IP.equals(cmd.get(0)) ? " (is iproute2 installed?)" : "";
            return new CommandResult(cmd, NOT_STARTED, "", "cannot start " + cmd.get(0) + ": " + ex.getMessage() + hint);
        }
        final StreamSink out = new StreamSink(process.getInputStream());
        final StreamSink err = new StreamSink(process.getErrorStream());
        out.start();
        err.start();
        try
        {
            if (null != stdin)
            {
                feed(process, stdin);
            }
            final boolean finished = process.waitFor(timeoutMs, TimeUnit.MILLISECONDS);
            if (!finished)
            {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
            out.join(5_000);
            err.join(5_000);
            return new CommandResult(cmd, finished ? process.exitValue() : TIMED_OUT, out.text(), err.text());
        }
        catch (final InterruptedException ex)
        {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            return new CommandResult(cmd, TIMED_OUT, out.text(), "interrupted");
        }
    }

    private static void feed(final Process process, final String stdin)
    {
        try (var os = process.getOutputStream())
        {
            os.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        catch (final IOException ignored)
        {
            // the command closed its stdin early; its exit code tells the rest
        }
    }

    /** True when {@code tool} is an executable on PATH (or an absolute path to one). */
    public static boolean onPath(final String tool)
    {
        if (tool.indexOf('/') >= 0)
        {
            return new File(tool).canExecute();
        }
        final String path = System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        for (final String dir : (path + ":/usr/sbin:/sbin").split(":"))
        {
            if (!dir.isEmpty() && new File(dir, tool).canExecute())
            {
                return true;
            }
        }
        return false;
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
            catch (final IOException ex)
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
