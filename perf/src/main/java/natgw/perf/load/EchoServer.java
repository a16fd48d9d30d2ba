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
import java.util.Iterator;


/**
 * The server side of the TCP scenarios, run in the server namespace: echoes whatever a connection sends, and
 * drains a UDP port (so a UDP flood is not answered with ICMP port unreachable). Prints
 * {@code echo-server: ready} once both sockets are bound; runs until killed.
 *
 * <pre>EchoServer --bind 10.77.2.2 --tcp-port 7000 --udp-port 9000</pre>
 */
public final class EchoServer
{
    public static final String READY = "echo-server: ready";

    public static void main(final String[] argv) throws Exception
    {
        final ServerOptions options = ServerOptions.parse(new ServerOptions(), argv);
        final String bind = options.bind;
        final int tcpPort = options.tcpPort;
        final int udpPort = options.udpPort;

        final ServerSocketChannel listener = ServerSocketChannel.open();
        listener.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        listener.bind(new InetSocketAddress(bind, tcpPort), 4096);
        listener.configureBlocking(false);
        if (udpPort > 0)
        {
            final DatagramChannel udp = DatagramChannel.open();
            udp.setOption(StandardSocketOptions.SO_RCVBUF, 4 << 20);
            udp.bind(new InetSocketAddress(bind, udpPort));
            final Thread sink = new Thread(() -> drain(udp), "udp-sink");
            sink.setDaemon(true);
            sink.start();
        }
        System.out.println(READY + " tcp=" + bind + ":" + tcpPort + (udpPort > 0 ? " udp=" + bind + ":" + udpPort : ""));
        System.out.flush();

        serve(listener);
    }

    /**
     * Serves echo in a daemon thread of this JVM (load generators warm up against it on loopback).
     *
     * @return the port it listens on.
     */
    public static int startInProcess(final String bind) throws IOException
    {
        final ServerSocketChannel listener = ServerSocketChannel.open();
        listener.bind(new InetSocketAddress(bind, 0), 4096);
        listener.configureBlocking(false);
        final Thread thread = new Thread(() ->
        {
            try
            {
                serve(listener);
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

    private static void serve(final ServerSocketChannel listener) throws IOException
    {
        final ByteBuffer buffer = ByteBuffer.allocateDirect(64 * 1024);
        try (Selector selector = Selector.open())
        {
            listener.register(selector, SelectionKey.OP_ACCEPT);
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
                        SocketChannel channel;
                        while ((channel = listener.accept()) != null)
                        {
                            channel.configureBlocking(false);
                            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                            channel.register(selector, SelectionKey.OP_READ);
                        }
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
            try
            {
                channel.close();
            }
            catch (final IOException ignored)
            {
                // gone
            }
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
