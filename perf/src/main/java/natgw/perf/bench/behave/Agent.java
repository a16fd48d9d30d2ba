package natgw.perf.bench.behave;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

import natgw.tun.lab.JavaCommand;
import natgw.tun.lab.Lab;
import natgw.tun.lab.Role;

/** The suite's handle on a {@link BehaveAgent} running in one lab namespace: requests in, answers matched by id. */
final class Agent implements AutoCloseable
{
    private static final long START_TIMEOUT_MS = 60_000;

    private final String name;
    private final Process process;
    private final Writer in;
    private final Map<Long, CompletableFuture<String>> pending = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final StringBuilder stray = new StringBuilder();
    private final CompletableFuture<String> ready = new CompletableFuture<>();

    private Agent(final String name, final Process process)
    {
        this.name = name;
        this.process = process;
        this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        pending.put(0L, ready);
        final Thread reader = new Thread(this::readAnswers, "agent-" + name);
        reader.setDaemon(true);
        reader.start();
    }

    static Agent start(final Lab lab, final Role role)
    {
        final List<String> command = lab.inNamespace(role, JavaCommand.of(List.of("-Xmx64m", "-XX:TieredStopAtLevel=1"),
            BehaveAgent.class.getName(), List.of()));
        try
        {
            final Agent agent = new Agent(role.label(), new ProcessBuilder(command).redirectErrorStream(true).start());
            final String hello = agent.ready.get(START_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            if (!hello.startsWith("ok"))
            {
                throw new IllegalStateException("the behave agent in " + lab.ns(role) + " failed: " + hello);
            }
            return agent;
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot start the behave agent in " + lab.ns(role), e);
        }
        catch (final InterruptedException | ExecutionException | TimeoutException e)
        {
            throw new IllegalStateException("the behave agent in " + lab.ns(role) + " did not start: " + e, e);
        }
    }

    private void readAnswers()
    {
        try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
            StandardCharsets.UTF_8)))
        {
            String line;
            while ((line = out.readLine()) != null)
            {
                final int space = line.indexOf(' ');
                final CompletableFuture<String> answer = space > 0 && line.substring(0, space).matches("\\d+") ?
                    pending.remove(Long.parseLong(line.substring(0, space))) : null;
                if (answer != null)
                {
                    answer.complete(line.substring(space + 1));
                }
                else
                {
                    synchronized (stray)
                    {
                        stray.append(line).append('\n');
                    }
                }
            }
        }
        catch (final IOException e)
        {
            // the agent is gone
        }
        final String output;
        synchronized (stray)
        {
            output = stray.toString().strip();
        }
        pending.values().forEach(f -> f.complete("err agent " + name + " exited: " + output));
    }

    /**
     * Runs one command ({@code udp-ask a 10.77.2.2 7000 100 2000}) and returns its answer: {@code ok ...},
     * {@code none} or {@code err ...}. Waits the command's own timeout plus a margin for a busy machine.
     */
    String call(final String command, final long timeoutMs)
    {
        final long id = ids.incrementAndGet();
        final CompletableFuture<String> answer = new CompletableFuture<>();
        pending.put(id, answer);
        try
        {
            synchronized (in)
            {
                in.write(id + " " + command + "\n");
                in.flush();
            }
            return answer.get(timeoutMs + 30_000, TimeUnit.MILLISECONDS);
        }
        catch (final IOException e)
        {
            return "err agent " + name + " gone: " + e.getMessage();
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            return "err interrupted";
        }
        catch (final ExecutionException | TimeoutException e)
        {
            return "err no answer from agent " + name + " to '" + command + "'";
        }
        finally
        {
            pending.remove(id);
        }
    }

    /** Like {@link #call} for a command that must succeed: its answer after {@code ok}, else an exception. */
    String ok(final String command, final long timeoutMs)
    {
        final String answer = call(command, timeoutMs);
        if (!answer.startsWith("ok"))
        {
            throw new IllegalStateException("agent " + name + ": '" + command + "' answered " + answer);
        }
        return answer.substring(2).strip();
    }

    @Override
    public void close()
    {
        try
        {
            synchronized (in)
            {
                in.write("quit\n");
                in.flush();
            }
            if (!process.waitFor(5, TimeUnit.SECONDS))
            {
                process.destroyForcibly();
            }
        }
        catch (final IOException e)
        {
            process.destroyForcibly();
        }
        catch (final InterruptedException e)
        {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
