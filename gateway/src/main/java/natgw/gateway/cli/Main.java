package natgw.gateway.cli;

import java.io.PrintWriter;
import java.util.ServiceLoader;

import picocli.CommandLine.Command;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine;

/**
 * The {@code natgw} command. Each verb is one class; {@code lab}, {@code bench} and {@code demo} are
 * {@link ExtensionCommand}s, present when the perf module is on the class path. A bad command line is refused
 * with one line naming the flag, what is wrong and what to do, then where the help is, and exit code 2; a
 * failure at run time (no permission, no TUN, a command that failed) is one line and exit code 1.
 */
@Command(
    name = "natgw",
    mixinStandardHelpOptions = true,
    // version and -h/-V on every subcommand too: "natgw run -V" prints the version
    scope = CommandLine.ScopeType.INHERIT,
    version = Main.VERSION,
    description = "Userspace NAT gateway with race-free connection tracking.",
    subcommands = {
        CommandLine.HelpCommand.class,
        RunCommand.class,
        ConntrackCommand.class,
        CleanupCommand.class,
        ServicesCommand.class,
        ServiceCommand.class,
    })
public final class Main implements Runnable
{
    static final String VERSION = "natgw 0.1.0";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public void run()
    {
        spec.commandLine().usage(System.out);
    }

    public static void main(final String[] args)
    {
        System.exit(execute(args));
    }

    public static int execute(final String... args)
    {
        return commandLine().execute(args);
    }

    /** The natgw command line with its error handling, for {@link #execute} and for tests that capture its output. */
    public static CommandLine commandLine()
    {
        final CommandLine commandLine = new CommandLine(new Main());
        for (final ExtensionCommand extension : ServiceLoader.load(ExtensionCommand.class))
        {
            commandLine.addSubcommand(extension);
        }
        return commandLine
            .setCaseInsensitiveEnumValuesAllowed(true)
            .setParameterExceptionHandler(Main::refuse)
            .setExecutionExceptionHandler((ex, failed, parseResult) -> fail(ex, failed.getErr()));
    }

    /** A bad command line: one line, then where the help is (not the whole usage, which would push it off the screen). */
    private static int refuse(final ParameterException ex, final String[] args)
    {
        final CommandLine commandLine = ex.getCommandLine();
        final PrintWriter err = commandLine.getErr();
        err.println("natgw: " + Messages.usage(ex));
        err.println("see " + commandLine.getCommandSpec().qualifiedName() + " --help");
        debug(ex, err);
        err.flush();
        return commandLine.getCommandSpec().exitCodeOnInvalidInput();
    }

    /** An operational failure (no TUN, no permission, a command that failed): one clear line. */
    private static int fail(final Exception ex, final PrintWriter err)
    {
        if (ex instanceof InterruptedException)
        {
            Thread.currentThread().interrupt();
            err.println("natgw: interrupted");
            err.flush();
            return 130;
        }
        err.println("natgw: " + Messages.failure(ex));
        debug(ex, err);
        err.flush();
        return 1;
    }

    private static void debug(final Exception ex, final PrintWriter err)
    {
        if (Boolean.getBoolean("natgw.debug"))
        {
            ex.printStackTrace(err);
        }
    }
}
