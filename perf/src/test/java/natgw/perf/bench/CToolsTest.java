package natgw.perf.bench;

import java.net.DatagramSocket;
import java.net.InetAddress;
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
    void shouldSendExactlyThePacketsItsRateAndDurationMake(@TempDir final Path dir) throws Exception
    {
        final Path binary = CTools.compileResource("udppace.c", dir);
        assertTrue(Exec.run(binary.toString()).stderr().contains("usage: udppace DST_IP PORT SECONDS RATE THREADS"));
        try (DatagramSocket sink = new DatagramSocket(0, InetAddress.getLoopbackAddress()))
        {
            final CommandResult paced = Exec.run(binary.toString(), "127.0.0.1", String.valueOf(sink.getLocalPort()), "1",
                "3000", "2");

            assertEquals(0, paced.exitCode(), paced.stderr());
            assertEquals(3000, ThroughputScenario.sent(paced.stdout()), paced.stdout());
            assertTrue(ThroughputScenario.sendingSeconds(paced.stdout()) >= 1.0 - 1.0 / 1500,
                "paced over the second, not sent at once: " + paced.stdout());
        }
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
