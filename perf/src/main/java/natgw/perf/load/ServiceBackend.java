package natgw.perf.load;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Iterator;
import java.util.concurrent.atomic.AtomicLong;

import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * One backend of a DNAT service in the lab, run in the server namespace on its own address: answers TCP like
 * {@link EchoServer} and UDP datagrams like a DNS server (one answer per query, same size), and writes its id into
 * the first byte of every answer, so a client can tell which backend served it.
 *
 * <pre>ServiceBackend --bind 10.77.2.11 --id 1 --tcp-port 7000 --udp-port 53</pre>
 *
 * Prints {@code service-backend: ready} once bound; on SIGTERM prints what it served
 * ({@code service-backend: stopped accepted=N queries=M}).
 */
public final class ServiceBackend
{
    public static final String READY = "service-backend: ready";
    /** Offset of the backend id in every answer. */
    public static final int ID_OFFSET = 0;

    private static final AtomicLong ACCEPTED = new AtomicLong();
    private static final AtomicLong QUERIES = new AtomicLong();

    public static void main(final String[] argv) throws Exception
    {
        final Options options = ServerOptions.parse(new Options(), argv);
        final String bind = options.server.bind;
        final int id = options.id;
        if (id < 1 || id > 127)
        {
            throw new IllegalArgumentException("--id must be 1..127, not " + id);
        }
        final int tcpPort = options.server.tcpPort;
        final int udpPort = options.server.udpPort;

        final Selector selector = Selector.open();
        final ServerSocketChannel listener = ServerSocketChannel.open();
        listener.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        listener.bind(new InetSocketAddress(bind, tcpPort), 4096);
        listener.configureBlocking(false);
        listener.register(selector, SelectionKey.OP_ACCEPT);
        if (udpPort > 0)
        {
            final DatagramChannel udp = DatagramChannel.open();
            udp.setOption(StandardSocketOptions.SO_RCVBUF, 4 << 20);
            udp.bind(new InetSocketAddress(bind, udpPort));
            udp.configureBlocking(false);
            udp.register(selector, SelectionKey.OP_READ);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> System.out.println(
            "service-backend: stopped accepted=" + ACCEPTED.get() + " queries=" + QUERIES.get())));
        System.out.println(READY + " id=" + id + " tcp=" + bind + ":" + tcpPort +
            (udpPort > 0 ? " udp=" + bind + ":" + udpPort : ""));
        System.out.flush();
        serve(selector, listener, (byte)id);
    }

    private static void serve(final Selector selector, final ServerSocketChannel listener, final byte id)
        throws IOException
    {
        final ByteBuffer buffer = ByteBuffer.allocateDirect(64 * 1024);
        while (true)
        {
            selector.select();
            final Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
            while (keys.hasNext())
            {
                final SelectionKey key = keys.next();
                keys.remove();
                if (!key.isValid())
                {
                    continue;
                }
                if (key.isAcceptable())
                {
                    SocketChannel channel;
                    while ((channel = listener.accept()) != null)
                    {
                        ACCEPTED.incrementAndGet();
                        channel.configureBlocking(false);
                        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                        channel.register(selector, SelectionKey.OP_READ);
                    }
                }
                else if (key.channel() instanceof DatagramChannel udp)
                {
                    answer(udp, buffer, id);
                }
                else if (key.isReadable())
                {
                    echo((SocketChannel)key.channel(), buffer, id);
                }
            }
        }
    }

    /** Answers every query waiting now: the query itself, tagged with this backend's id. */
    private static void answer(final DatagramChannel udp, final ByteBuffer buffer, final byte id) throws IOException
    {
        while (true)
        {
            buffer.clear();
            final SocketAddress from = udp.receive(buffer);
            if (from == null)
            {
                return;
            }
            QUERIES.incrementAndGet();
            buffer.flip();
            if (buffer.remaining() > ID_OFFSET)
            {
                buffer.put(ID_OFFSET, id);
            }
            udp.send(buffer, from);
        }
    }

    /** Echoes what is readable now with the id in its first byte; requests are small (see EchoServer). */
    private static void echo(final SocketChannel channel, final ByteBuffer buffer, final byte id)
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
            if (n > ID_OFFSET)
            {
                buffer.put(ID_OFFSET, id);
            }
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

    static final class Options
    {
        @Mixin
        ServerOptions server = new ServerOptions();

        @Option(names = "--id", defaultValue = "1", description = "This backend's id, 1..127, in its answers.")
        int id;
    }
}
