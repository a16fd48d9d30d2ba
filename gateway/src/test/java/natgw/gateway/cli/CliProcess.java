package natgw.gateway.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import natgw.perf.sys.Exec;
import natgw.perf.sys.JavaCommand;
import natgw.perf.sys.Privileges;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Runs the shipped natgw.jar as a user would, for the lab and bench end-to-end tests. */
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

    static Path jar()
    {
        final Path jar = Path.of("target", "natgw.jar").toAbsolutePath();
        if (!Files.exists(jar))
        {
            fail("natgw.jar not built: run the tests with `mvn verify` (the jar is made in the package phase)");
        }
        return jar;
    }

    static List<String> natgw(final String... args)
    {
        return JavaCommand.natgwJar(jar(), args);
    }

    static Exec.Result run(final long timeoutMs, final String... args)
    {
        return Exec.run(natgw(args), null, timeoutMs);
    }
}
