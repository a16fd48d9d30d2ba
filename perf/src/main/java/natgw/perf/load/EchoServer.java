package natgw.perf.load;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;


/**
 * The server side of the TCP scenarios, run in the server namespace: echoes whatever a connection sends, and
 * drains a UDP port (so a UDP flood is not answered with ICMP port unreachable). On {@code --close-first-ports}
 * ports from {@code --close-first-port} it answers a connection's first read with the port the connection came from
 * (2 bytes, big-endian: behind a NAT, the port it translated to) and closes the connection itself, so this host
 * holds the 4-tuple in TIME_WAIT (a web server's close after its response). Prints {@code echo-server: ready} once
 * its sockets are bound; runs until killed.
 *
 * <pre>EchoServer --bind 10.77.2.2 --tcp-port 7000 --udp-port 9000 --close-first-port 7001 --close-first-ports 64</pre>
 */
public final class EchoServer
{
    public static final String READY = "echo-server: ready";
    /** The attachment of a close-first listener's key and of its connections'. */
    private static final Object CLOSE_FIRST = new Object();

    public static void main(final String[] argv) throws Exception
    {
        final ServerOptions options = ServerOptions.parse(new ServerOptions(), argv);
        final String bind = options.bind;
        final int tcpPort = options.tcpPort;
        final int udpPort = options.udpPort;

        final ServerSocketChannel listener = listen(bind, tcpPort);
        final List<ServerSocketChannel> closeFirst = new ArrayList<>();
        for (int i = 0; options.closeFirstPort > 0 && i < options.closeFirstPorts; i++)
        {
            closeFirst.add(listen(bind, options.closeFirstPort + i));
        }
        if (udpPort > 0)
        {
            final DatagramChannel udp = DatagramChannel.open();
            udp.setOption(StandardSocketOptions.SO_RCVBUF, 4 << 20);
            udp.bind(new InetSocketAddress(bind, udpPort));
            final Thread sink = new Thread(() -> drain(udp), "udp-sink");
            sink.setDaemon(true);
            sink.start();
        }
        System.out.println(READY + " tcp=" + bind + ":" + tcpPort + (udpPort > 0 ? " udp=" + bind + ":" + udpPort : "") +
            (closeFirst.isEmpty() ? "" : " close-first=" + bind + ":" + options.closeFirstPort + "+" + closeFirst.size()));
        System.out.flush();

        serve(listener, closeFirst);
    }

    private static ServerSocketChannel listen(final String bind, final int port) throws IOException
    {
        final ServerSocketChannel listener = ServerSocketChannel.open();
        listener.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        listener.bind(new InetSocketAddress(bind, port), 4096);
        listener.configureBlocking(false);
        return listener;
    }

    /**
     * Serves echo in a daemon thread of this JVM (load generators warm up against it on loopback).
     *
     * @return the port it listens on.
     */
    public static int startInProcess(final String bind) throws IOException
    {
        return startInProcess(bind, false);
    }

    /** As {@link #startInProcess(String)}; with {@code closeFirst} it serves as a close-first port does instead of echoing. */
    public static int startInProcess(final String bind, final boolean closeFirst) throws IOException
    {
        final ServerSocketChannel listener = ServerSocketChannel.open();
        listener.bind(new InetSocketAddress(bind, 0), 4096);
        listener.configureBlocking(false);
        final Thread thread = new Thread(() ->
        {
            try
            {
                serve(closeFirst ? null : listener, closeFirst ? List.of(listener) : List.of());
            }
            catch (final IOException e)
            {
                // warm-up over
            }
        }, "echo-" + listener.socket().getLocalPort());
        thread.setDaemon(true);
        thread.start();
        return listener.socket().getLocalPort();
    }

    /** Serves the echo listener (or null) and the close-first ones, whose connections carry {@link #CLOSE_FIRST}. */
    private static void serve(final ServerSocketChannel echo, final List<ServerSocketChannel> closeFirst) throws IOException
    {
        final ByteBuffer buffer = ByteBuffer.allocateDirect(64 * 1024);
        try (Selector selector = Selector.open())
        {
            if (echo != null)
            {
                echo.register(selector, SelectionKey.OP_ACCEPT);
            }
            for (final ServerSocketChannel listener : closeFirst)
            {
                listener.register(selector, SelectionKey.OP_ACCEPT, CLOSE_FIRST);
            }
            while (true)
            {
                selector.select();
                final Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
                while (keys.hasNext())
                {
                    final SelectionKey key = keys.next();
                    keys.remove();
                    if (key.isAcceptable())
                    {
                        final ServerSocketChannel listener = (ServerSocketChannel)key.channel();
                        SocketChannel channel;
                        while ((channel = listener.accept()) != null)
                        {
                            channel.configureBlocking(false);
                            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                            channel.register(selector, SelectionKey.OP_READ, key.attachment());
                        }
                    }
                    else if (key.isReadable() && key.attachment() == CLOSE_FIRST)
                    {
                        answerAndClose((SocketChannel)key.channel(), buffer);
                    }
                    else if (key.isReadable())
                    {
                        echo((SocketChannel)key.channel(), buffer);
                    }
                }
            }
        }
    }

    /** Echoes what is readable now; requests are small, so a short write ends the connection instead of queueing. */
    private static void echo(final SocketChannel channel, final ByteBuffer buffer)
    {
        try
        {
            buffer.clear();
            final int n = channel.read(buffer);
            if (n < 0)
            {
                channel.close();
                return;
            }
            buffer.flip();
            int spins = 0;
            while (buffer.hasRemaining() && spins++ < 1000)
            {
                channel.write(buffer);
            }
            if (buffer.hasRemaining())
            {
                channel.close();
            }
        }
        catch (final IOException e)
        {
            close(channel);
        }
    }

    /** Answers with the peer's port and closes first: this side holds the 4-tuple in TIME_WAIT. */
    private static void answerAndClose(final SocketChannel channel, final ByteBuffer buffer)
    {
        try
        {
            buffer.clear();
            if (channel.read(buffer) > 0)
            {
                buffer.clear();
                buffer.putShort((short)((InetSocketAddress)channel.getRemoteAddress()).getPort()).flip();
                channel.write(buffer); // 2 bytes into an empty send buffer
            }
        }
        catch (final IOException e)
        {
            // the close below ends it either way
        }
        close(channel);
    }

    private static void close(final SocketChannel channel)
    {
        try
        {
            channel.close();
        }
        catch (final IOException ignored)
        {
            // gone
        }
    }

    private static void drain(final DatagramChannel udp)
    {
        final ByteBuffer buffer = ByteBuffer.allocateDirect(2048);
        try
        {
            while (true)
            {
                buffer.clear();
                udp.receive(buffer);
            }
        }
        catch (final IOException e)
        {
            System.out.println("echo-server: udp sink stopped: " + e.getMessage());
        }
    }
}
