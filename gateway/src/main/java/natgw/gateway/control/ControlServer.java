package natgw.gateway.control;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
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
import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.gateway.Gateway;
import natgw.gateway.Worker;

/**
 * The control channel: a Unix socket in the abstract namespace, {@code @natgw/<tun>}. Abstract
 * sockets belong to the network namespace, so {@code natgw conntrack} run in the gateway's namespace
 * finds it without flags, and nothing is left on disk whatever way the gateway exits. Only root may
 * use it: the peer's credentials (SO_PEERCRED) are checked on connect.
 * <p>
 * Protocol: one request line ({@code conntrack -L [-p P] [-s A] [-d A]}, {@code conntrack -S},
 * {@code conntrack -E}, {@code conntrack -F}); the answer is text lines, then the server closes the
 * connection (for -E: when the client does). A line starting with {@code error:} is a refusal.
 */
public final class ControlServer implements AutoCloseable
{
    public static final String NAME_PREFIX = "natgw/";

    private final Gateway gateway;
    private final ServiceControl serviceControl;
    private final EventLoopGroup group;
    private final Channel channel;
    private final List<Channel> listeners = new CopyOnWriteArrayList<>();
    private final ScheduledFuture<?> eventPump;

    public ControlServer(final Gateway gateway, final EventLoopGroup group, final java.util.function.IntConsumer vipAdded)
    {
        this.gateway = gateway;
        this.serviceControl = new ServiceControl(gateway.services(), gateway.backendCounters(), gateway.table(), vipAdded);
        this.group = group;
        final DomainSocketAddress address = new DomainSocketAddress("\0" + NAME_PREFIX + gateway.config().tun);
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
        this.eventPump = group.scheduleAtFixedRate(this::pumpEvents, 50, 50, TimeUnit.MILLISECONDS);
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
                    switch (words[1])
                    {
                        case "-L":
                            answer = list(words);
                            break;
                        case "-S":
                            answer = stats();
                            break;
                        case "-F":
                            answer = "natgw: " + gateway.reaper().flush() + " connection(s) flushed\n";
                            break;
                        case "-E":
                            gateway.events().addListener();
                            listeners.add(ctx.channel());
                            ctx.channel().closeFuture().addListener(f ->
                            {
                                if (listeners.remove(ctx.channel()))
                                {
                                    gateway.events().removeListener();
                                }
                            });
                            return;
                        default:
                            answer = "error: unknown conntrack option '" + words[1] + "' (use -L, -S, -E or -F)\n";
                    }
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

    private String list(final String[] words)
    {
        final ConntrackListing.Filter filter = new ConntrackListing.Filter();
        for (int i = 2; i < words.length; i++)
        {
            if (i + 1 >= words.length)
            {
                throw new IllegalArgumentException("option " + words[i] + " needs a value");
            }
            switch (words[i])
            {
                case "-p":
                    filter.protocol = ConntrackListing.protocolNumber(words[++i]);
                    break;
                case "-s":
                    filter.src = FlowTuple.parseAddress(words[++i]);
                    break;
                case "-d":
                    filter.dst = FlowTuple.parseAddress(words[++i]);
                    break;
                default:
                    throw new IllegalArgumentException("unknown -L filter '" + words[i] + "' (use -p, -s, -d)");
            }
        }
        final StringBuilder out = new StringBuilder();
        final int count = ConntrackListing.list(
            gateway.table(), gateway.table().toTableMs(gateway.clock().nanoTime()), filter, out);
        out.append("natgw: ").append(count).append(" flow entries have been shown.\n");
        return out.toString();
    }

    private String stats()
    {
        final StringBuilder out = new StringBuilder();
        for (final Worker worker : gateway.workers())
        {
            final WorkerCounters counters = worker.pipeline().counters();
            out.append(counters.statsLine()).append('\n');
        }
        out.append("natgw: offloads=").append(gateway.offloads().names())
            .append(" tun_tx_dropped=").append(gateway.tunTxDropped()).append('\n');
        return out.toString();
    }

    private void pumpEvents()
    {
        if (listeners.isEmpty())
        {
            return;
        }
        final StringBuilder out = new StringBuilder();
        gateway.events().drain((msgTypeId, buffer, index, length) ->
        {
            final int type = msgTypeId - 1;
            out.append(type == ConntrackEvents.NEW ? "    [NEW] " : type == ConntrackEvents.UPDATE ? " [UPDATE] " : "[DESTROY] ");
            ConntrackListing.format(out, buffer.getLong(index), buffer.getLong(index + 8), buffer.getLong(index + 16),
                buffer.getLong(index + 24), buffer.getInt(index + 32), -1, 0, 0, 0, 0, false);
            out.append('\n');
        });
        if (out.length() > 0)
        {
            final String text = out.toString();
            for (final Channel listener : listeners)
            {
                listener.writeAndFlush(text);
            }
        }
    }

    public void close()
    {
        eventPump.cancel(false);
        final List<Channel> open = new ArrayList<>(listeners);
        for (final Channel listener : open)
        {
            listener.close();
        }
        channel.close().syncUninterruptibly();
    }
}
