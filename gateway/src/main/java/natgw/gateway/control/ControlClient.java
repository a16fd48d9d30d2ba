package natgw.gateway.control;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.codec.string.StringDecoder;
import io.netty.handler.codec.string.StringEncoder;

/** Client side of the control channel: finds the gateway of this network namespace and sends one request. */
public final class ControlClient
{
    /** An answer line for the client's standard error (conntrack-tools prints its counts there). */
    static final String STDERR = "stderr: ";

    private ControlClient()
    {
    }

    /** Names ({@code tun}) of gateways listening in this network namespace, from /proc/net/unix. */
    public static List<String> gatewaysHere() throws IOException
    {
        final TreeSet<String> names = new TreeSet<>();
        for (final String line : Files.readAllLines(Path.of("/proc/net/unix"), StandardCharsets.UTF_8))
        {
            final String[] fields = line.trim().split("\\s+");
            final String path = fields[fields.length - 1];
            if (fields.length >= 8 && path.startsWith("@" + ControlServer.NAME_PREFIX))
            {
                names.add(path.substring(1 + ControlServer.NAME_PREFIX.length()));
            }
        }
        return new ArrayList<>(names);
    }

    /** Picks the gateway: the named one, or the only one running here. */
    public static String resolve(final String tun) throws IOException
    {
        final List<String> here = gatewaysHere();
        if (tun != null)
        {
            if (!here.contains(tun))
            {
                throw new IllegalStateException("no natgw gateway with --tun " + tun + " runs in this network namespace" +
                    (here.isEmpty() ? "" : " (running: " + String.join(", ", here) + ")"));
            }
            return tun;
        }
        if (here.isEmpty())
        {
            throw new IllegalStateException("no natgw gateway runs in this network namespace " +
                "(run this command where `natgw run` runs, e.g. with ip netns exec)");
        }
        if (here.size() > 1)
        {
            throw new IllegalStateException("several gateways run here (" + String.join(", ", here) + "): choose one with --tun");
        }
        return here.get(0);
    }

    /** Resolves the gateway of this namespace and sends {@code request}; a failure to find it is one message, exit 1. */
    public static int callHere(final String tun, final String request) throws IOException, InterruptedException
    {
        final String gateway;
        try
        {
            gateway = resolve(tun);
        }
        catch (final IllegalStateException ex)
        {
            System.err.println("natgw: " + ex.getMessage());
            return 1;
        }
        return call(gateway, request, System.out);
    }

    /**
     * Sends {@code request} and copies the answer to {@code out} until the server closes.
     *
     * @return exit status: 0, or 1 if the gateway refused the request.
     */
    public static int call(final String tun, final String request, final PrintStream out) throws InterruptedException
    {
        final EventLoopGroup group = new EpollEventLoopGroup(1);
        final boolean[] refused = new boolean[1];
        try
        {
            final Channel channel = new Bootstrap()
                .group(group)
                .channel(EpollDomainSocketChannel.class)
                .handler(new ChannelInitializer<EpollDomainSocketChannel>()
                {
                    protected void initChannel(final EpollDomainSocketChannel ch)
                    {
                        ch.pipeline().addLast(
                            new LineBasedFrameDecoder(1 << 20),
                            new StringDecoder(StandardCharsets.UTF_8),
                            new StringEncoder(StandardCharsets.UTF_8),
                            new SimpleChannelInboundHandler<String>()
                            {
                                protected void channelRead0(final ChannelHandlerContext ctx, final String line)
                                {
                                    if (line.startsWith("error: "))
                                    {
                                        refused[0] = true;
                                        System.err.println("natgw: " + line.substring(7));
                                    }
                                    else if (line.startsWith(STDERR))
                                    {
                                        System.err.println(line.substring(STDERR.length()));
                                    }
                                    else
                                    {
                                        out.println(line);
                                        out.flush();
                                    }
                                }
                            });
                    }
                })
                .connect(new DomainSocketAddress("\0" + ControlServer.NAME_PREFIX + tun)).sync().channel();
            channel.writeAndFlush(request + "\n").sync();
            channel.closeFuture().sync();
            return refused[0] ? 1 : 0;
        }
        finally
        {
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
        }
    }
}
