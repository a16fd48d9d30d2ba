package natgw.perf.bench;

import java.nio.file.Files;
import java.nio.file.Path;

import natgw.tun.CommandResult;
import natgw.tun.Exec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The C tools the bench compiles at run time compile here too (CI has gcc: .ci/run installs it). */
class CToolsTest
{
    @Test
    void shouldCompileTheUdpGsoSenderShippedAsAResource(@TempDir final Path dir) throws Exception
    {
        final Path binary = CTools.compileResource("udpgso.c", dir);
        assertTrue(Files.isExecutable(binary), binary.toString());
        final CommandResult usage = Exec.run(binary.toString());
        assertEquals(1, usage.exitCode());
        assertTrue(usage.stderr().contains("usage: udpgso DST_IP PORT SECONDS THREADS SEGMENT"), usage.stderr());
    }

    @Test
    void shouldReuseABinaryNewerThanItsSource(@TempDir final Path dir) throws Exception
    {
        final Path first = CTools.compileResource("udpgso.c", dir);
        final long compiledAt = Files.getLastModifiedTime(first).toMillis();
        Files.setLastModifiedTime(first, java.nio.file.attribute.FileTime.fromMillis(compiledAt + 60_000));
        final Path second = CTools.compileResource("udpgso.c", dir);
        assertEquals(first, second);
        assertEquals(compiledAt + 60_000, Files.getLastModifiedTime(second).toMillis(), "not compiled again");
    }
}
