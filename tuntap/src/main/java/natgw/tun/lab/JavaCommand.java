package natgw.tun.lab;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Command lines for child JVMs: the load generators and natgw itself run as separate processes inside the lab's
 * namespaces, on the classpath of this JVM (the natgw jar, or the test classpath under Maven).
 */
public final class JavaCommand
{
    /** The flags the {@code ./natgw} launcher passes (Agrona and Netty need the opens). */
    public static final List<String> JVM_FLAGS = List.of(
        "-XX:+UseParallelGC",
        "-Dagrona.disable.bounds.checks=true",
        "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
        "--add-opens", "java.base/java.nio=ALL-UNNAMED",
        "-Dio.netty.tryReflectionSetAccessible=true");

    /** {@code java} with the launcher's flags running the shipped {@code natgw.jar}, then {@code args}. */
    public static List<String> natgwJar(final Path jar, final String... args)
    {
        final List<String> command = new ArrayList<>();
        command.add(javaBinary());
        command.addAll(JVM_FLAGS);
        command.add("-jar");
        command.add(jar.toString());
        command.addAll(List.of(args));
        return command;
    }

    private JavaCommand()
    {
    }

    public static String javaBinary()
    {
        final Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        return Files.isExecutable(java) ? java.toString() : "java";
    }

    /** This JVM's classpath with every entry made absolute (children may run from another directory). */
    public static String classpath()
    {
        final List<String> entries = new ArrayList<>();
        for (final String entry : System.getProperty("java.class.path", "").split(File.pathSeparator))
        {
            if (!entry.isEmpty())
            {
                entries.add(Path.of(entry).toAbsolutePath().toString());
            }
        }
        return String.join(File.pathSeparator, entries);
    }

    /** {@code java [flags] -cp <this classpath> mainClass args...}, with extra JVM options before the class. */
    public static List<String> of(final List<String> jvmOptions, final String mainClass, final List<String> args)
    {
        final List<String> cmd = new ArrayList<>();
        cmd.add(javaBinary());
        cmd.addAll(JVM_FLAGS);
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(classpath());
        cmd.add(mainClass);
        cmd.addAll(args);
        return cmd;
    }

    public static List<String> of(final String mainClass, final List<String> args)
    {
        return of(List.of(), mainClass, args);
    }
}
