package natgw.perf.load;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShortConnectionsTest
{
    @Test
    void shouldShareTheSourcePortsOutAmongThreads()
    {
        final int[] range = ShortConnections.portRange("30000-30004");
        assertArrayEquals(new int[] {30000, 30004}, range);
        assertArrayEquals(new int[] {30000, 30002, 30004}, ShortConnections.threadPorts(range, 0, 2));
        assertArrayEquals(new int[] {30001, 30003}, ShortConnections.threadPorts(range, 1, 2));
        assertArrayEquals(new int[0], ShortConnections.threadPorts(ShortConnections.portRange("0-0"), 1, 2),
            "ephemeral ports");
    }

    @Test
    void shouldRefuseBadPortRanges()
    {
        assertThrows(IllegalArgumentException.class, () -> ShortConnections.portRange("30004-30000"));
        assertThrows(IllegalArgumentException.class, () -> ShortConnections.portRange("0-30000"));
        assertThrows(IllegalArgumentException.class, () -> ShortConnections.portRange("1-70000"));
        assertThrows(IllegalArgumentException.class,
            () -> ShortConnections.threadPorts(ShortConnections.portRange("30000-30000"), 1, 2));
    }

    /** On loopback, against the in-process echo server: the open loop starts exactly rate x duration connections. */
    @Test
    @Timeout(120)
    void shouldStartEveryScheduledConnectionInTheOpenLoopAndNotSpinBetweenThem(@TempDir final Path dir) throws Exception
    {
        final LoadResult result = runOnLoopback(dir, "--mode", "open", "--rate", "1000", "--duration-s", "2");

        assertEquals(2000, result.count("attempted"), "1000 a second for 2 s");
        assertEquals(2000, result.count("completed"));
        assertEquals(0, result.count("errors"));
        assertEquals(2000, result.histograms().get("connect").getTotalCount());
        assertEquals(2000, result.histograms().get("request").getTotalCount());
        assertEquals(2000, result.histograms().get("start_lateness").getTotalCount());
        // 500 connections a second a thread: the 250 us polled before each start and the connections' own work took
        // 0.16-0.19 of its time here; the loader that spun through every wait under a millisecond took 0.44
        final double cpuShare = result.values().get("loader_cpu_share");
        assertTrue(cpuShare > 0 && cpuShare < 0.3, "each load thread ran " + cpuShare + " of the time at 500 connections a second");
    }

    /** The settle loads the path on the same schedule; only the starts after it are recorded. */
    @Test
    @Timeout(120)
    void shouldRecordOnlyTheConnectionsStartedAfterTheSettle(@TempDir final Path dir) throws Exception
    {
        final LoadResult open = runOnLoopback(dir, "--mode", "open", "--rate", "1000", "--settle-s", "1", "--duration-s", "1");

        assertEquals(1000, open.count("attempted"), "1000 a second for the 1 s after the settle");
        assertEquals(1000, open.count("completed"));
        assertEquals(1000, open.histograms().get("connect").getTotalCount());
        assertEquals(1000, open.histograms().get("start_lateness").getTotalCount());
        assertEquals(0, open.count("errors") + open.count("settle_errors"));
        assertEquals(1.0, open.values().get("duration_s"));
        assertEquals(1000.0, open.values().get("conn_per_s"), 0.001);

        final LoadResult closed = runOnLoopback(dir, "--mode", "closed", "--concurrency", "4", "--settle-s", "1",
            "--duration-s", "1");
        assertTrue(closed.count("completed") > 100, "completed " + closed.count("completed"));
        assertEquals(closed.count("attempted"), closed.count("completed"), "the settle's connections are not counted");
        assertEquals(closed.count("completed"), closed.histograms().get("connect").getTotalCount());
    }

    @Test
    @Timeout(120)
    void shouldKeepTheConcurrencyInFlightInTheClosedLoop(@TempDir final Path dir) throws Exception
    {
        final LoadResult result = runOnLoopback(dir, "--mode", "closed", "--concurrency", "4", "--duration-s", "1",
            "--source-ports", "41000-41999");

        assertTrue(result.count("completed") > 100, "completed " + result.count("completed"));
        assertEquals(0, result.count("errors"));
        assertEquals(result.count("completed"), result.histograms().get("request").getTotalCount());
        assertEquals(result.count("attempted"), result.count("completed"), "each one completed, none left in flight");
        // the whole machine's CPU over the measured second, per connection: some, and at most all its CPUs' time
        final double cpuUs = result.values().get("machine_cpu_us_per_conn");
        final double capacityUs = 1e6 * MachineCpu.read().cpus() / result.count("completed");
        assertTrue(cpuUs > 0 && cpuUs <= capacityUs * 1.05, cpuUs + " us of machine CPU a connection, capacity " + capacityUs);
    }

    /** Two load threads from two loopback addresses against an in-process echo server, no warm-up. */
    private static LoadResult runOnLoopback(final Path dir, final String... args) throws Exception
    {
        final Path out = dir.resolve("result.json");
        final List<String> argv = new ArrayList<>(List.of("--server", "127.0.0.1", "--port",
            Integer.toString(EchoServer.startInProcess("127.0.0.1")), "--sources", "127.0.0.2,127.0.0.3", "--threads", "2",
            "--warmup-s", "0", "--out", out.toString()));
        argv.addAll(List.of(args));
        ShortConnections.main(argv.toArray(String[]::new));
        return LoadResult.read(out);
    }
}
