package natgw.perf.load;

import java.nio.file.Path;
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
        final Path out = dir.resolve("result.json");
        TimeWaitReuse.main(List.of("--server", "127.0.0.1", "--port", Integer.toString(EchoServer.startInProcess("127.0.0.1", true)),
            "--sources", "127.0.0.2,127.0.0.3", "--duration-s", "1", "--warmup-s", "0", "--timeout-ms", "30000",
            "--out", out.toString()).toArray(String[]::new));
        final LoadResult result = LoadResult.read(out);

        assertEquals(0, result.count("errors"), "no connection waited for a close that did not come");
        assertTrue(result.count("completed") > 0, "connections in 1 s: " + result.count("completed"));
        assertEquals(result.count("attempted"), result.count("completed"));
        assertEquals(result.count("completed"), result.histograms().get("connect").getTotalCount(), "one connect time each");
        // no NAT on loopback: the server saw the clients' own ephemeral ports
        assertTrue(result.count("server_seen_port_min") >= 1024, "lowest port " + result.count("server_seen_port_min"));
        assertTrue(result.count("server_seen_port_max") <= 65535 &&
            result.count("server_seen_port_max") >= result.count("server_seen_port_min"));
    }
}
