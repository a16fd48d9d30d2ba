package natgw.gateway.control;

import java.nio.charset.StandardCharsets;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;

import natgw.core.conntrack.ConntrackCounter;
import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.packet.DropReason;
import natgw.gateway.Gateway;
import natgw.gateway.Worker;
import natgw.tun.TunOffloads;

/** Read-only metrics in the Prometheus text format on a loopback HTTP port: {@code GET /metrics}. */
public final class MetricsServer implements AutoCloseable
{
    private final Gateway gateway;
    private final Channel channel;

    public MetricsServer(final Gateway gateway, final EventLoopGroup group, final String address, final int port)
    {
        this.gateway = gateway;
        this.channel = new ServerBootstrap()
            .group(group)
            .channel(EpollServerSocketChannel.class)
            .childHandler(new ChannelInitializer<SocketChannel>()
            {
                protected void initChannel(final SocketChannel ch)
                {
                    ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(8192), new Handler());
                }
            })
            .bind(address, port).syncUninterruptibly().channel();
    }

    public int port()
    {
        return ((java.net.InetSocketAddress)channel.localAddress()).getPort();
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest>
    {
        protected void channelRead0(final ChannelHandlerContext ctx, final FullHttpRequest request)
        {
            final boolean ok = request.method() == HttpMethod.GET && request.uri().startsWith("/metrics");
            final byte[] body = (ok ? render(gateway) : "GET /metrics\n").getBytes(StandardCharsets.UTF_8);
            final DefaultFullHttpResponse response = new DefaultFullHttpResponse(
                HttpVersion.HTTP_1_1, ok ? HttpResponseStatus.OK : HttpResponseStatus.NOT_FOUND, Unpooled.wrappedBuffer(body));
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
            response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
            ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** The metrics page. */
    public static String render(final Gateway gateway)
    {
        final StringBuilder out = new StringBuilder(8192);
        for (final ConntrackCounter counter : ConntrackCounter.values())
        {
            final String name = "natgw_conntrack_" + counter.label() + "_total";
            out.append("# HELP ").append(name).append(' ').append(counter.description()).append('\n');
            out.append("# TYPE ").append(name).append(" counter\n");
            for (final Worker worker : gateway.workers())
            {
                final WorkerCounters c = worker.pipeline().counters();
                out.append(name).append("{worker=\"").append(c.worker()).append("\"} ").append(c.get(counter)).append('\n');
            }
        }
        out.append("# HELP natgw_drops_total packets dropped, by reason\n# TYPE natgw_drops_total counter\n");
        for (final DropReason reason : DropReason.values())
        {
            for (final Worker worker : gateway.workers())
            {
                final WorkerCounters c = worker.pipeline().counters();
                out.append("natgw_drops_total{worker=\"").append(c.worker()).append("\",reason=\"")
                    .append(reason.label()).append("\"} ").append(c.get(reason)).append('\n');
            }
        }
        final ConntrackTable table = gateway.table();
        out.append("# HELP natgw_conntrack_expired_total connections ended by timeout\n# TYPE natgw_conntrack_expired_total counter\n")
            .append("natgw_conntrack_expired_total ").append(gateway.reaper().expired()).append('\n')
            .append("# HELP natgw_conntrack_max table capacity\n# TYPE natgw_conntrack_max gauge\n")
            .append("natgw_conntrack_max ").append(table.capacity()).append('\n')
            .append("# HELP natgw_conntrack_entries connections in the table\n# TYPE natgw_conntrack_entries gauge\n")
            .append("natgw_conntrack_entries ").append(table.countInUse()).append('\n')
            .append("# HELP natgw_conntrack_memory_bytes off-heap bytes of the table\n# TYPE natgw_conntrack_memory_bytes gauge\n")
            .append("natgw_conntrack_memory_bytes ").append(table.memoryBytes()).append('\n')
            .append("# HELP natgw_conntrack_hugepage_bytes bytes of the table the kernel backs with huge pages\n# TYPE natgw_conntrack_hugepage_bytes gauge\n")
            .append("natgw_conntrack_hugepage_bytes ").append(gateway.tableHugePageBytes()).append('\n')
            .append("# HELP natgw_events_lost_total conntrack events lost to a full ring\n# TYPE natgw_events_lost_total counter\n")
            .append("natgw_events_lost_total ").append(gateway.events().lost()).append('\n')
            .append("# HELP natgw_tun_tx_dropped_total packets the kernel could not hand to the workers (TUN queue full)\n")
            .append("# TYPE natgw_tun_tx_dropped_total counter\n")
            .append("natgw_tun_tx_dropped_total ").append(Math.max(0, gateway.tunTxDropped())).append('\n')
            .append("# HELP natgw_tun_offload offloads the TUN runs with (1 in force, 0 not)\n# TYPE natgw_tun_offload gauge\n");
        final TunOffloads offloads = gateway.offloads();
        final String[] names = TunOffloads.allNames();
        out.append("natgw_tun_offload{flag=\"vnet_hdr\"} ").append(offloads.vnetHeader() ? 1 : 0).append('\n');
        for (int i = 0; i < names.length; i++)
        {
            out.append("natgw_tun_offload{flag=\"").append(names[i]).append("\"} ")
                .append(offloads.vnetHeader() && offloads.has(TunOffloads.flagAt(i)) ? 1 : 0).append('\n');
        }
        return out.toString();
    }

    public void close()
    {
        channel.close().syncUninterruptibly();
    }
}
