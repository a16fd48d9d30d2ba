package natgw.gateway.control;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import natgw.core.conntrack.ConntrackCounter;
import natgw.core.flow.FlowTuple;
import natgw.core.nat.Cidr;
import natgw.core.packet.DropReason;
import natgw.core.packet.PacketBuilder;
import natgw.gateway.BuildInfo;
import natgw.gateway.Gateway;
import natgw.gateway.GatewayConfig;
import natgw.tun.Exec;
import natgw.tun.HugePageMemory;
import natgw.tun.testing.ChannelTun;
import org.agrona.concurrent.CachedNanoClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The Prometheus endpoint of a gateway over the in-memory TUN, on an ephemeral loopback port, fetched over
 * HTTP as a Prometheus server would. One UDP packet went through worker 1 and one truncated packet was
 * dropped there; worker 0 saw nothing.
 */
class MetricsServerTest
{
    private static final int CLIENT = FlowTuple.parseAddress("10.77.1.2");
    private static final int SERVER = FlowTuple.parseAddress("10.77.2.2");
    private static final int POOL = FlowTuple.parseAddress("10.77.2.100");

    private final ChannelTun tun = new ChannelTun(2);
    private final HttpClient http = HttpClient.newHttpClient();
    private Gateway gateway;
    private MetricsServer server;
    private byte[] udp;

    @BeforeEach
    void start()
    {
        final GatewayConfig config = new GatewayConfig();
        config.inside(List.of(Cidr.parse("10.77.1.0/24")));
        config.pool(new int[]{ POOL });
        config.conntrackMax(1024);
        final CachedNanoClock clock = new CachedNanoClock();
        clock.update(1_000_000_000L);
        gateway = new Gateway(config, tun, clock, new PrintStream(new ByteArrayOutputStream()));
        final PacketBuilder packets = new PacketBuilder(new UnsafeBuffer(ByteBuffer.allocateDirect(2048)));
        udp = new byte[packets.udp(0, CLIENT, 5353, SERVER, 53, 12)];
        packets.buffer().getBytes(0, udp);
        tun.inject(1, udp, new byte[]{ 0x45, 0 });
        gateway.workers().get(1).doWork();
        server = new MetricsServer(gateway, "127.0.0.1", 0);
    }

    @AfterEach
    void close()
    {
        if (server != null)
        {
            server.close();
        }
        tun.close();
    }

    private HttpResponse<String> send(final String method, final String path) throws Exception
    {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
            .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    private String scrape() throws Exception
    {
        final HttpResponse<String> page = send("GET", "/metrics");
        assertEquals(200, page.statusCode());
        assertTrue(page.headers().firstValue("content-type").orElse("").startsWith("text/plain; version=0.0.4"),
            page.headers().toString());
        return page.body();
    }

    @Test
    void shouldCountPacketsAndBytesPerDirectionAndWorker() throws Exception
    {
        final String body = scrape();
        assertEquals(2, value(body, "natgw_packets_total{direction=\"in\",worker=\"1\"}"));
        assertEquals(1, value(body, "natgw_packets_total{direction=\"out\",worker=\"1\"}"));
        assertEquals(0, value(body, "natgw_packets_total{direction=\"in\",worker=\"0\"}"));
        assertEquals(udp.length + 2, value(body, "natgw_bytes_total{direction=\"in\",worker=\"1\"}"));
        assertEquals(udp.length, value(body, "natgw_bytes_total{direction=\"out\",worker=\"1\"}"));
        assertEquals(0, value(body, "natgw_bytes_total{direction=\"out\",worker=\"0\"}"));
    }

    @Test
    void shouldExportEveryDropInOneFamilyByReasonWithTheTunsOwn() throws Exception
    {
        final String body = scrape();
        assertEquals(1, value(body, "natgw_drops_total{reason=\"truncated\",worker=\"1\"}"));
        assertEquals(0, value(body, "natgw_drops_total{reason=\"truncated\",worker=\"0\"}"));
        for (final DropReason reason : DropReason.values())
        {
            value(body, "natgw_drops_total{reason=\"" + reason.label() + "\",worker=\"0\"}");
        }
        assertEquals(0, value(body, "natgw_drops_total{reason=\"tun_tx_dropped\"}"), "the in-memory TUN drops nothing");
        assertEquals(1, count(body, "(?m)^# TYPE natgw_drops_total counter$"));
        for (final String gone : new String[]{ "natgw_conntrack_drop_total", "natgw_conntrack_dropped_total",
            "natgw_tun_tx_dropped_total", "natgw_conntrack_rx_packets_total", "natgw_conntrack_pool_exhausted_total" })
        {
            assertFalse(body.contains(gone), gone + " overlaps natgw_drops_total or natgw_packets_total");
        }
    }

    @Test
    void shouldExportConntrackCountersUnderConntrackNamesAndTheRestUnderTheirStage() throws Exception
    {
        final String body = scrape();
        assertEquals(1, value(body, "natgw_conntrack_insert_total{worker=\"1\"}"));
        assertEquals(0, value(body, "natgw_conntrack_insert_total{worker=\"0\"}"));
        for (final ConntrackCounter counter : ConntrackCounter.values())
        {
            final String family = GatewayCollector.family(counter);
            if (family != null)
            {
                value(body, family + "_total{worker=\"1\"}");
            }
        }
        value(body, "natgw_nat_port_search_attempts_total{worker=\"1\"}");
        value(body, "natgw_service_rejected_total{worker=\"1\"}");
        value(body, "natgw_untracked_packets_total{worker=\"1\"}");
        assertEquals(0, value(body, "natgw_conntrack_expired_total"));
        assertEquals(0, value(body, "natgw_events_lost_total"));
    }

    @Test
    void shouldExportTheTableTheBuildAndTheJvm() throws Exception
    {
        final String body = scrape();
        assertEquals(1024, value(body, "natgw_conntrack_max"));
        assertEquals(1, value(body, "natgw_conntrack_entries"));
        assertEquals(gateway.table().memoryBytes(), value(body, "natgw_conntrack_memory_bytes"));
        final long huge = value(body, "natgw_conntrack_hugepage_bytes");
        assertTrue(huge >= 0 && huge <= gateway.table().memoryBytes(), huge + " bytes in huge pages");
        if (!HugePageMemory.transparentHugePageMode().equals("never"))
        {
            assertEquals(gateway.table().memoryBytes(), huge, "the whole table in one advised 2 MiB page");
        }
        assertEquals(0, value(body, "natgw_tun_offload{flag=\"vnet_hdr\"}"));
        assertEquals(1, value(body, "natgw_tun_queue_steering{mode=\"kernel\"}"), "the in-memory TUN's");
        assertEquals(0, value(body, "natgw_tun_queue_steering{mode=\"ports\"}"));

        assertNotEquals("unknown", BuildInfo.VERSION);
        assertEquals(1, value(body, "natgw_build_info{version=\"" + BuildInfo.VERSION + "\"}"));
        assertTrue(value(body, "process_start_time_seconds") > 0);
        assertTrue(body.contains("\njvm_memory_used_bytes{area=\"heap\"} "), "JVM metrics");
        assertTrue(body.contains("\nprocess_cpu_seconds_total "), "process metrics");
    }

    @Test
    void shouldAnswerHeadWithTheHeadersOfGetAndNoBody() throws Exception
    {
        final HttpResponse<String> head = send("HEAD", "/metrics");
        assertEquals(200, head.statusCode());
        assertTrue(head.headers().firstValue("content-type").orElse("").startsWith("text/plain; version=0.0.4"));
        assertTrue(head.headers().firstValueAsLong("content-length").orElse(0) > 1000, head.headers().toString());
        assertEquals("", head.body());
    }

    @Test
    void shouldServeOpenMetricsToAScraperThatAsksForIt() throws Exception
    {
        final HttpResponse<String> page = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() +
            "/metrics")).header("Accept", "application/openmetrics-text; version=1.0.0").build(),
            HttpResponse.BodyHandlers.ofString());
        assertTrue(page.headers().firstValue("content-type").orElse("").startsWith("application/openmetrics-text"));
        assertTrue(page.body().contains("# TYPE natgw_drops counter\n"), page.body());
        assertTrue(page.body().endsWith("# EOF\n"));
    }

    /**
     * The page passes {@code promtool check metrics}, the linter of the Prometheus server's own tool (Debian
     * package {@code prometheus}; .ci/run installs it). Without promtool this fails, as the root tests do
     * without root: exclude it with {@code -Dsurefire.excludedGroups=promtool} where it cannot be had.
     */
    @Test
    @Tag("promtool")
    void shouldPassPromtoolCheckMetrics() throws Exception
    {
        if (!Exec.onPath("promtool"))
        {
            fail("promtool is not on PATH: install it with 'apt-get install prometheus' (.ci/run does), " +
                "or leave this test out with -Dsurefire.excludedGroups=promtool");
        }
        final String body = scrape();
        final Process promtool = new ProcessBuilder("promtool", "check", "metrics").redirectErrorStream(true).start();
        try (OutputStream in = promtool.getOutputStream())
        {
            in.write(body.getBytes(StandardCharsets.UTF_8));
        }
        final String report = readAll(promtool.getInputStream());
        assertTrue(promtool.waitFor(30, TimeUnit.SECONDS), "promtool did not finish");
        assertEquals(0, promtool.exitValue(), "promtool check metrics:\n" + report + "\non:\n" + body);
        assertEquals("", report.strip(), "promtool's lint findings");
    }

    private static String readAll(final InputStream in) throws IOException
    {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }

    private static long value(final String body, final String sample)
    {
        final Matcher m = Pattern.compile("(?m)^" + Pattern.quote(sample) + " (-?[0-9.E+]+)$").matcher(body);
        assertTrue(m.find(), sample + " missing from\n" + body);
        return (long)Double.parseDouble(m.group(1));
    }

    private static int count(final String body, final String regex)
    {
        final Matcher m = Pattern.compile(regex).matcher(body);
        int n = 0;
        while (m.find())
        {
            n++;
        }
        return n;
    }
}
