package natgw.gateway.control;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.codec.string.StringDecoder;
import io.netty.handler.codec.string.StringEncoder;
import io.netty.util.concurrent.ScheduledFuture;

import natgw.core.conntrack.ConntrackEvents;
import natgw.core.conntrack.ConntrackTable;
import natgw.gateway.EventRecord;
import natgw.gateway.Gateway;
import natgw.gateway.Worker;

/**
 * The control channel: a Unix socket in the abstract namespace, {@code @natgw/<tun>}. Abstract
 * sockets belong to the network namespace, so {@code natgw conntrack} run in the gateway's namespace
 * finds it without flags, and nothing is left on disk whatever way the gateway exits. Only root may
 * use it: the peer's credentials (SO_PEERCRED) are checked on connect.
 * <p>
 * Protocol: one request line ({@code conntrack} and conntrack-tools' own options, see {@link ConntrackRequest};
 * {@code services}; {@code service ...}); the answer is text lines, then the server closes the connection (for
 * -E: when the client does). A line starting with {@code stderr:} is for the client's standard error, one
 * starting with {@code error:} is a refusal.
 */
public final class ControlServer implements AutoCloseable
{
    public static final String NAME_PREFIX = "natgw/";

    private final Gateway gateway;
    private final ServiceControl serviceControl;
    private final EventLoopGroup group;
    private final Channel channel;
    private final Map<Channel, ConntrackRequest> listeners = new ConcurrentHashMap<>();
    /** Runs only while someone listens (an idle loop then sleeps in epoll_wait); set and cancelled on the event loop only. */
    private ScheduledFuture<?> eventPump;

    public ControlServer(final Gateway gateway, final EventLoopGroup group, final java.util.function.IntConsumer vipAdded)
    {
        this.gateway = gateway;
        this.serviceControl = new ServiceControl(gateway.services(), gateway.backendCounters(), gateway.table(), vipAdded);
        this.group = group;
        final DomainSocketAddress address = new DomainSocketAddress("\0" + NAME_PREFIX + gateway.config().tun());
        this.channel = new ServerBootstrap()
            .group(group)
            .channel(EpollServerDomainSocketChannel.class)
            .childHandler(new ChannelInitializer<EpollDomainSocketChannel>()
            {
                protected void initChannel(final EpollDomainSocketChannel ch)
                {
                    ch.pipeline().addLast(
                        new LineBasedFrameDecoder(4096),
                        new StringDecoder(StandardCharsets.UTF_8),
                        new StringEncoder(StandardCharsets.UTF_8),
                        new RequestHandler());
                }
            })
            .bind(address).syncUninterruptibly().channel();
    }

    private final class RequestHandler extends SimpleChannelInboundHandler<String>
    {
        public void channelActive(final ChannelHandlerContext ctx)
        {
            final EpollDomainSocketChannel ch = (EpollDomainSocketChannel)ctx.channel();
            int uid = -1;
            try
            {
                uid = ch.peerCredentials().uid();
            }
            catch (final Exception ignore)
            {
                // refused below
            }
            if (uid != 0)
            {
                ctx.writeAndFlush("error: the control channel is for root only (peer uid " + uid + ")\n")
                    .addListener(ChannelFutureListener.CLOSE);
            }
        }

        protected void channelRead0(final ChannelHandlerContext ctx, final String request)
        {
            final String[] words = request.trim().split("\\s+");
            final String answer;
            try
            {
                if (words.length >= 2 && words[0].equals("conntrack"))
                {
                    final ConntrackRequest conntrack = ConntrackRequest.parse(List.of(words).subList(1, words.length));
                    if (conntrack.command == 'E')
                    {
                        gateway.events().addListener();
                        listeners.put(ctx.channel(), conntrack);
                        if (eventPump == null)
                        {
                            eventPump = ctx.channel().eventLoop().scheduleAtFixedRate(ControlServer.this::pumpEvents, 50, 50, TimeUnit.MILLISECONDS);
                        }
                        ctx.channel().closeFuture().addListener(f ->
                        {
                            if (listeners.remove(ctx.channel()) != null)
                            {
                                gateway.events().removeListener();
                            }
                            if (listeners.isEmpty() && eventPump != null)
                            {
                                eventPump.cancel(false);
                                eventPump = null;
                            }
                        });
                        return;
                    }
                    answer = conntrack(conntrack);
                }
                else if (words.length == 1 && words[0].equals("services"))
                {
                    answer = serviceControl.list();
                }
                else if (words[0].equals("service"))
                {
                    answer = serviceControl.handle(words);
                }
                else
                {
                    answer = "error: unknown request '" + request.trim() + "'\n";
                }
            }
            catch (final IllegalArgumentException | IllegalStateException ex)
            {
                ctx.writeAndFlush("error: " + ex.getMessage() + "\n").addListener(ChannelFutureListener.CLOSE);
                return;
            }
            ctx.writeAndFlush(answer).addListener(ChannelFutureListener.CLOSE);
        }

        public void exceptionCaught(final ChannelHandlerContext ctx, final Throwable cause)
        {
            ctx.close();
        }
    }

    /**
     * Answers a conntrack command as conntrack-tools prints it: what it prints on stdout as plain lines, what it
     * prints on stderr (the count lines) as {@code stderr:} lines, a failure as an {@code error:} line.
     */
    private String conntrack(final ConntrackRequest request)
    {
        final StringBuilder out = new StringBuilder();
        final ConntrackTable table = gateway.table();
        final int nowMs = table.toTableMs(gateway.clock().nanoTime());
        switch (request.command)
        {
            case 'L':
            {
                final int count = ConntrackListing.visit(table, nowMs, request.filter, request.extended, (entry, status, line) ->
                {
                    out.append(line).append('\n');
                    return true;
                });
                out.append("stderr: natgw: ").append(count).append(" flow entries have been shown.\n");
                break;
            }
            case 'G':
            {
                final int count = ConntrackListing.visit(table, nowMs, request.filter, request.extended, (entry, status, line) ->
                {
                    // the kernel answers a get holding a second reference to the entry, and says so
                    out.append(line, 0, line.length() - "use=1".length()).append("use=2\n");
                    return true;
                });
                if (count == 0)
                {
                    return "error: such conntrack doesn't exist\n";
                }
                out.append("stderr: natgw: ").append(count).append(" flow entries have been shown.\n");
                break;
            }
            case 'D':
            {
                final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
                final int count = ConntrackListing.visit(table, nowMs, request.filter, request.extended, (entry, status, line) ->
                {
                    if (!table.kill(cursor, entry, status))
                    {
                        return false; // ended or changed since it was read: not this call's to report
                    }
                    out.append(line).append('\n');
                    return true;
                });
                out.append("stderr: natgw: ").append(count).append(" flow entries have been deleted.\n");
                break;
            }
            case 'M':
            {
                final int count = ConntrackListing.mappings(table, request.filter, out);
                out.append("stderr: natgw: ").append(count).append(" endpoint mappings have been shown.\n");
                break;
            }
            case 'C':
                out.append(ConntrackListing.visit(table, nowMs, new ConntrackListing.Filter(), false, (e, s, l) -> true)).append('\n');
                break;
            case 'S':
                for (final Worker worker : gateway.workers())
                {
                    out.append(ConntrackStatsLine.format(worker.pipeline().counters())).append('\n');
                }
                out.append("stderr: natgw: offloads=").append(gateway.offloads().names())
                    .append(" queue_steering=").append(gateway.queueSteering().label())
                    .append(" tun_tx_dropped=").append(gateway.tunTxDropped())
                    .append(" mappings=").append(table.countMappings()).append('\n');
                break;
            case 'F':
                out.append("stderr: natgw: connection tracking table has been emptied (")
                    .append(gateway.reaper().flush()).append(" flow entries).\n");
                break;
            default:
                throw new IllegalArgumentException("unknown conntrack command -" + request.command);
        }
        return out.toString();
    }

    private void pumpEvents()
    {
        if (listeners.isEmpty())
        {
            return;
        }
        final StringBuilder line = new StringBuilder(256);
        final EventRecord event = EventRecord.reader();
        gateway.events().drain((msgTypeId, buffer, index, length) ->
        {
            event.wrap(buffer, index);
            final int type = msgTypeId - 1;
            for (final Map.Entry<Channel, ConntrackRequest> listener : listeners.entrySet())
            {
                final ConntrackRequest request = listener.getValue();
                if (!request.filter.matches(event.originalAddresses(), event.originalPorts(), event.replyAddresses(), event.replyPorts()))
                {
                    continue;
                }
                line.setLength(0);
                if (request.timestamp)
                {
                    ConntrackListing.timestamp(line, event.wallClockUs());
                }
                line.append(ConntrackListing.eventName(type));
                if (request.extended)
                {
                    line.append(ConntrackListing.EXTENDED_PREFIX);
                }
                final boolean destroy = type == ConntrackEvents.DESTROY;
                ConntrackListing.format(line, event.originalAddresses(), event.originalPorts(), event.replyAddresses(), event.replyPorts(), event.status(),
                    event.timeoutSeconds(),
                    event.packets(ConntrackTable.ORIGINAL), event.bytes(ConntrackTable.ORIGINAL),
                    event.packets(ConntrackTable.REPLY), event.bytes(ConntrackTable.REPLY), destroy, false);
                line.append('\n');
                listener.getKey().write(line.toString());
            }
        });
        for (final Channel listener : listeners.keySet())
        {
            listener.flush();
        }
    }

    public void close()
    {
        final List<Channel> open = new ArrayList<>(listeners.keySet());
        for (final Channel listener : open)
        {
            listener.close();
        }
        channel.close().syncUninterruptibly();
    }
}
