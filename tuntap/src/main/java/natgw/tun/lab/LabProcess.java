package natgw.tun.lab;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * A background process running inside one lab namespace (started with {@code ip netns exec}, which execs
 * the command in place, so signals reach the command itself). Its stdout and stderr are merged, kept
 * (the last {@value #KEPT_LINES} lines), optionally copied to a log file and passed to a listener line by line.
 * Closing it stops it: SIGTERM, then SIGKILL after a grace period.
 */
public final class LabProcess implements AutoCloseable
{
    static final int KEPT_LINES = 2_000;
    static final long STOP_GRACE_MS = 5_000;

    private final String name;
    private final Process process;
    private final ArrayDeque<String> lines = new ArrayDeque<>();
    private final Thread reader;
    private long lineCount;

    LabProcess(final String name, final Process process, final Path logFile, final Consumer<String> listener)
        throws IOException
    {
        this.name = name;
        this.process = process;
        final Writer log = logFile == null ? null : Files.newBufferedWriter(logFile, StandardCharsets.UTF_8);
        this.reader = new Thread(() -> pump(log, listener), "output-" + name);
        reader.setDaemon(true);
        reader.start();
    }

    private void pump(final Writer log, final Consumer<String> listener)
    {
        try (BufferedReader in = new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)))
        {
            String line;
            while ((line = in.readLine()) != null)
            {
                if (log != null)
                {
                    log.write(line);
                    log.write('\n');
                    log.flush();
                }
                if (listener != null)
                {
                    listener.accept(line);
                }
                synchronized (lines)
                {
                    lines.addLast(line);
                    if (lines.size() > KEPT_LINES)
                    {
                        lines.removeFirst();
                    }
                    lineCount++;
                    lines.notifyAll();
                }
            }
        }
        catch (final IOException e)
        {
            // process gone
        }
        finally
        {
            try
            {
                if (log != null)
                {
                    log.close();
                }
            }
            catch (final IOException ignored)
            {
                // nothing left to save
            }
            synchronized (lines)
            {
                lines.notifyAll();
            }
        }
    }

    public String name()
    {
        return name;
    }

    public long pid()
    {
        return process.pid();
    }

    public boolean isAlive()
    {
        return process.isAlive();
    }

    /**
     * Waits until an output line matches, the process exits or the timeout passes.
     *
     * @return true if a matching line was seen (also one printed before this call).
     */
    public boolean awaitLine(final Predicate<String> match, final long timeoutMs) throws InterruptedException
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        synchronized (lines)
        {
            while (true)
            {
                for (final String line : lines)
                {
                    if (match.test(line))
                    {
                        return true;
                    }
                }
                final long leftNs = deadlineNs - System.nanoTime();
                if (leftNs <= 0 || (!process.isAlive() && !reader.isAlive()))
                {
                    return false;
                }
                lines.wait(Math.max(1, Math.min(100, TimeUnit.NANOSECONDS.toMillis(leftNs))));
            }
        }
    }

    /** Waits for the process to exit; returns its exit code, or -1 if still running after the timeout. */
    public int waitFor(final long timeoutMs) throws InterruptedException
    {
        if (!process.waitFor(timeoutMs, TimeUnit.MILLISECONDS))
        {
            return -1;
        }
        reader.join(2_000);
        return process.exitValue();
    }

    /** The kept output lines, oldest first. */
    public List<String> lines()
    {
        synchronized (lines)
        {
            return new ArrayList<>(lines);
        }
    }

    public String output()
    {
        return String.join("\n", lines());
    }

    /** The last {@code n} output lines joined, for error messages. */
    public String tail(final int n)
    {
        final List<String> all = lines();
        return String.join("\n", all.subList(Math.max(0, all.size() - n), all.size()));
    }

    /** Sends SIGTERM and waits up to {@code graceMs}; then SIGKILL. Returns the exit code (or -1). */
    public int stop(final long graceMs)
    {
        try
        {
            if (process.isAlive())
            {
                process.destroy();
                if (!process.waitFor(graceMs, TimeUnit.MILLISECONDS))
                {
                    process.descendants().forEach(ProcessHandle::destroyForcibly);
                    process.destroyForcibly();
                    process.waitFor(graceMs, TimeUnit.MILLISECONDS);
                }
            }
            reader.join(2_000);
            return process.isAlive() ? -1 : process.exitValue();
        }
        catch (final InterruptedException e)
        {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    @Override
    public void close()
    {
        stop(STOP_GRACE_MS);
    }

    @Override
    public String toString()
    {
        return name + "(pid " + process.pid() + (process.isAlive() ? ", running)" : ", exited)");
    }
}
