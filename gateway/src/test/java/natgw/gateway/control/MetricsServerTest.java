package natgw.gateway.control;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.netty.channel.epoll.EpollEventLoopGroup;
import org.agrona.concurrent.CachedNanoClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import natgw.core.flow.FlowTuple;
import natgw.core.nat.Cidr;
import natgw.core.packet.PacketBuilder;
import natgw.gateway.Gateway;
import natgw.gateway.GatewayConfig;
import natgw.tun.ChannelTun;
import natgw.tun.HugePageMemory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Prometheus page of a gateway over the in-memory TUN, fetched over HTTP as a scraper would. */
class MetricsServerTest
{
    private static final int CLIENT = FlowTuple.parseAddress("10.77.1.2");
    private static final int SERVER = FlowTuple.parseAddress("10.77.2.2");
    private static final int POOL = FlowTuple.parseAddress("10.77.2.100");

    private final ChannelTun tun = new ChannelTun(2);
    private final EpollEventLoopGroup group = new EpollEventLoopGroup(1);
    private MetricsServer server;

    @AfterEach
    void close()
    {
        if (server != null)
        {
            server.close();
        }
        group.shutdownGracefully().syncUninterruptibly();
        tun.close();
    }

    @Test
    void shouldServeCountersTableAndMemoryGauges() throws Exception
    {
        final GatewayConfig config = new GatewayConfig();
        config.inside = List.of(Cidr.parse("10.77.1.0/24"));
        config.pool = new int[]{ POOL };
        config.conntrackMax = 1024;
        final CachedNanoClock clock = new CachedNanoClock();
        clock.update(1_000_000_000L);
        final Gateway gateway = new Gateway(config, tun, clock, new PrintStream(new ByteArrayOutputStream()));
        final PacketBuilder packets = new PacketBuilder(new UnsafeBuffer(ByteBuffer.allocateDirect(2048)));
        final byte[] udp = new byte[packets.udp(0, CLIENT, 5353, SERVER, 53, 12)];
        packets.buffer().getBytes(0, udp);
        tun.inject(1, udp, new byte[]{ 0x45, 0 });
        gateway.workers().get(1).doWork();

        server = new MetricsServer(gateway, group, "127.0.0.1", 0);
        final HttpClient http = HttpClient.newHttpClient();
        final HttpResponse<String> page = http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/metrics")).build(),
            HttpResponse.BodyHandlers.ofString());
        final HttpResponse<String> other = http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/")).build(),
            HttpResponse.BodyHandlers.ofString());

        assertEquals(200, page.statusCode());
        assertTrue(page.headers().firstValue("content-type").orElse("").startsWith("text/plain; version=0.0.4"));
        assertEquals(404, other.statusCode());
        final String body = page.body();
        assertEquals(1, gauge(body, "natgw_conntrack_insert_total\\{worker=\"1\"\\}"));
        assertEquals(0, gauge(body, "natgw_conntrack_insert_total\\{worker=\"0\"\\}"));
        assertEquals(1, gauge(body, "natgw_drops_total\\{worker=\"1\",reason=\"truncated\"\\}"));
        assertEquals(1024, gauge(body, "natgw_conntrack_max"));
        assertEquals(1, gauge(body, "natgw_conntrack_entries"));
        assertEquals(gateway.table().memoryBytes(), gauge(body, "natgw_conntrack_memory_bytes"));
        final long huge = gauge(body, "natgw_conntrack_hugepage_bytes");
        assertTrue(huge >= 0 && huge <= gateway.table().memoryBytes(), huge + " bytes in huge pages");
        if (!HugePageMemory.transparentHugePageMode().equals("never"))
        {
            assertEquals(gateway.table().memoryBytes(), huge, "the whole table in one advised 2 MiB page");
        }
    }

    private static long gauge(final String body, final String name)
    {
        final Matcher m = Pattern.compile("(?m)^" + name + " (-?\\d+)$").matcher(body);
        assertTrue(m.find(), name + " missing from\n" + body);
        return Long.parseLong(m.group(1));
    }
}
