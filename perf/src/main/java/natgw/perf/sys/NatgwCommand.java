package natgw.perf.sys;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import natgw.gateway.cli.Main;
import natgw.tun.lab.JavaCommand;

/** Command lines that run natgw itself as a child process: the gateway under test in the lab, or the whole CLI. */
public final class NatgwCommand
{
    private NatgwCommand()
    {
    }

    /**
     * The command that runs natgw: the {@code NATGW_CMD} environment variable or the {@code natgw.cmd} system
     * property (split on spaces) when set, else natgw's main class on this JVM's class path (perf runs inside the
     * natgw CLI, or under Maven with the gateway module on its class path).
     */
    public static List<String> natgw()
    {
        final String override = System.getProperty("natgw.cmd", System.getenv("NATGW_CMD"));
        if (override != null && !override.isBlank())
        {
            return List.of(override.strip().split("\\s+"));
        }
        return JavaCommand.of(List.of(), Main.class.getName(), List.of());
    }

    /** {@code java} with the launcher's flags running natgw's main class from {@code jars}, as {@code ./natgw} does. */
    public static List<String> fromJars(final List<Path> jars, final String... args)
    {
        final List<String> entries = new ArrayList<>();
        for (final Path jar : jars)
        {
            entries.add(jar.toAbsolutePath().toString());
        }
        final List<String> command = new ArrayList<>();
        command.add(JavaCommand.javaBinary());
        command.addAll(JavaCommand.JVM_FLAGS);
        command.add("-cp");
        command.add(String.join(File.pathSeparator, entries));
        command.add(Main.class.getName());
        command.addAll(List.of(args));
        return command;
    }
}
