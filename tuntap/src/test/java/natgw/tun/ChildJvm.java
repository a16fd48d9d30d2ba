package natgw.tun;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import natgw.tun.testing.TestNetns;

/**
 * A second JVM for tests that need a process to die (SIGKILL, SIGTERM) or to run with fewer privileges.
 * {@link #main} is the child's entry point; the static helpers start it from the parent.
 */
public final class ChildJvm
{
    public static final String READY = "READY";

    private ChildJvm()
    {
    }

    /**
     * {@code open-tun NAME}: tries {@link LinuxTun#open}, prints "OPENED" or the exception message.
     * {@code ensure-available}: prints "AVAILABLE" or "UNAVAILABLE" and {@link TestNetns#ensureAvailable}'s message.
     * {@code host-network OWNER DIR OUTSIDE_DEV [shutdown-hook]}: makes one change of each kind, prints
     * {@link #READY}, then waits to be killed.
     */
    public static void main(final String[] args) throws Exception
    {
        switch (args[0])
        {
            case "open-tun":
                try (LinuxTun tun = LinuxTun.open(args[1], 1, 1500))
                {
                    System.out.println("OPENED " + tun);
                }
                catch (final TunException ex)
                {
                    System.out.println("errno=" + ex.errno() + " " + ex.getMessage());
                }
                break;

            case "ensure-available":
                try
                {
                    TestNetns.ensureAvailable();
                    System.out.println("AVAILABLE");
                }
                catch (final IllegalStateException ex)
                {
                    System.out.println("UNAVAILABLE " + ex.getMessage().replace('\n', '|'));
                }
                break;

            case "host-network":
                final HostNetwork host = HostNetwork.open(args[1], Path.of(args[2]));
                if (args.length > 4 && "shutdown-hook".equals(args[4]))
                {
                    host.undoOnShutdown();
                }
                HostNetworkTest.applyOneOfEach(host, args[3]);
                System.out.println(READY);
                System.out.flush();
                Thread.sleep(TimeUnit.MINUTES.toMillis(5));
                break;

            default:
                throw new IllegalArgumentException(args[0]);
        }
    }

    public static List<String> command(final String... args)
    {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-cp");
        command.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
        command.add(ChildJvm.class.getName());
        command.addAll(List.of(args));
        return command;
    }

    /** Starts the child inside {@code ns}; stderr goes to the parent's, stdout is for {@link #awaitLine}. */
    public static Process start(final TestNetns ns, final List<String> prefix, final String... args) throws IOException
    {
        final List<String> full = new ArrayList<>(prefix);
        full.addAll(command(args));
        return ns.processBuilder(full.toArray(String[]::new))
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    }

    /** Reads the child's stdout until a line starting with {@code prefix}; fails on EOF. */
    public static String awaitLine(final Process child, final String prefix) throws IOException
    {
        final BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        final StringBuilder seen = new StringBuilder();
        String line;
        while (null != (line = out.readLine()))
        {
            if (line.startsWith(prefix))
            {
                return line;
            }
            seen.append(line).append('\n');
        }
        throw new AssertionError("child exited without printing '" + prefix + "'; stdout was:\n" + seen);
    }

    public static void kill(final Process child) throws InterruptedException
    {
        if (child.isAlive())
        {
            child.destroyForcibly();
        }
        if (!child.waitFor(60, TimeUnit.SECONDS))
        {
            throw new AssertionError("child JVM " + child.pid() + " still alive 60 s after SIGKILL");
        }
    }
}
