package natgw.perf.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import natgw.perf.sys.NatgwCommand;
import natgw.tun.CommandResult;
import natgw.tun.Exec;
import natgw.tun.lab.Privileges;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Runs the shipped jars as the launcher does, for the lab and bench end-to-end tests. */
final class CliProcess
{
    private CliProcess()
    {
    }

    static void requireRoot()
    {
        assertTrue(Privileges.canManageNamespaces(), "this test needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN) to " +
            "build network namespaces; run it as root, as CI does");
        assertTrue(Files.exists(Path.of("/dev/net/tun")), "this test needs /dev/net/tun (modprobe tun)");
    }

    /** The jars the {@code ./natgw} launcher runs: the daemon's natgw.jar, then perf's natgw-perf.jar. */
    static List<Path> jars()
    {
        final List<Path> jars = List.of(Path.of("..", "gateway", "target", "natgw.jar").toAbsolutePath().normalize(),
            Path.of("target", "natgw-perf.jar").toAbsolutePath());
        for (final Path jar : jars)
        {
            if (!Files.exists(jar))
            {
                fail(jar + " not built: run the tests with `mvn verify` (the jars are made in the package phase)");
            }
        }
        return jars;
    }

    static List<String> natgw(final String... args)
    {
        return NatgwCommand.fromJars(jars(), args);
    }

    static CommandResult run(final long timeoutMs, final String... args)
    {
        return Exec.run(natgw(args), null, timeoutMs);
    }
}
