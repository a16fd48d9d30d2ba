package natgw.gateway.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code natgw} command. Each verb is one class; bad flags are refused by picocli with a
 * message naming the flag, and exit code 2.
 */
@Command(
    name = "natgw",
    mixinStandardHelpOptions = true,
    version = "natgw 0.1.0",
    description = "Userspace NAT gateway with race-free connection tracking.",
    subcommands = {
        CommandLine.HelpCommand.class,
        RunCommand.class,
        ConntrackCommand.class,
        CleanupCommand.class,
        ServicesCommand.class,
        ServiceCommand.class,
        LabCommand.class,
        BenchCommand.class,
        DemoCommand.class,
    })
public final class Main implements Runnable
{
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
        return new CommandLine(new Main())
            .setCaseInsensitiveEnumValuesAllowed(true)
            .setExecutionExceptionHandler((ex, commandLine, parseResult) ->
            {
                // operational failures (no TUN, no permission, a command that failed) are one clear line
                commandLine.getErr().println("natgw: " + (ex.getMessage() != null ? ex.getMessage() : ex.toString()));
                if (Boolean.getBoolean("natgw.debug"))
                {
                    ex.printStackTrace(commandLine.getErr());
                }
                return 1;
            })
            .execute(args);
    }
}
