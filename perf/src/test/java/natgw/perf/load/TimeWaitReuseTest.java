package natgw.perf.load;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TimeWaitReuseTest
{
    /**
     * On loopback, against the in-process close-first server: a client only counts a connection once the server has
     * closed it (it reads to end of stream), so every connection completed means the server closed every one first.
     */
    @Test
    @Timeout(120)
    void shouldCountEachConnectionTheServerClosedFirst(@TempDir final Path dir) throws Exception
    {
        final LoadResult result = runOnLoopback(dir, "--expect-ports", "1-1023");

        assertEquals(0, result.count("errors"), "no connection waited for a close that did not come");
        assertTrue(result.count("completed") > 0, "connections in 1 s: " + result.count("completed"));
        assertEquals(result.count("attempted"), result.count("completed"));
        assertEquals(result.count("completed"), result.histograms().get("connect").getTotalCount(), "one connect time each");
        // no NAT on loopback: the server saw the clients' own ephemeral ports, none of them below 1024
        assertEquals(result.count("completed"), result.count("ports_outside"), "each connection's port, as the server said it");
    }

    /** 50 starts a second from each of two sources for 1 s: never more than the schedule's 100 slots, each started or skipped once. */
    @Test
    @Timeout(120)
    void shouldStartOnTheScheduleAndNeverBunchWhatItMissed(@TempDir final Path dir) throws Exception
    {
        final LoadResult result = runOnLoopback(dir, "--rate-per-source", "50", "--expect-ports", "1024-65535");

        assertEquals(0, result.count("errors"));
        assertEquals(0, result.count("ports_outside"), "the ephemeral ports, as the server said them");
        assertTrue(result.count("completed") > 0);
        assertTrue(result.count("attempted") + result.count("missed_starts") <= 100,
            result.count("attempted") + " started and " + result.count("missed_starts") + " skipped of 100 slots");
    }

    /** Two sources on loopback for 1 s against an in-process close-first server, no warm-up. */
    private static LoadResult runOnLoopback(final Path dir, final String... args) throws Exception
    {
        final Path out = dir.resolve("result.json");
        final List<String> argv = new ArrayList<>(List.of("--server", "127.0.0.1", "--port",
            Integer.toString(EchoServer.startInProcess("127.0.0.1", true)), "--sources", "127.0.0.2,127.0.0.3",
            "--duration-s", "1", "--warmup-s", "0", "--timeout-ms", "30000", "--out", out.toString()));
        argv.addAll(List.of(args));
        TimeWaitReuse.main(argv.toArray(String[]::new));
        return LoadResult.read(out);
    }
}
