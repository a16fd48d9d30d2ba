package natgw.gateway;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/** The peers of {@link TakeOverIT}: a server that closes each connection first, and clients that connect in a loop. */
final class TakeOverPeers
{
    private TakeOverPeers()
    {
    }

    /**
     * On ADDR:PORT, prints "ready", then for each connection: reads one byte, answers one, and closes it first, so that
     * this side holds the 4-tuple in TIME_WAIT (as an HTTP server that closes does).
     */
    static void closeFirst(final String address, final String port) throws Exception
    {
        try (ServerSocketChannel server = ServerSocketChannel.open())
        {
            server.bind(new InetSocketAddress(address, Integer.parseInt(port)), 1024);
            System.out.println("ready");
            while (true)
            {
                final SocketChannel channel = server.accept();
                final Thread thread = new Thread(() -> answerAndClose(channel));
                thread.setDaemon(true);
                thread.start();
            }
        }
    }

    private static void answerAndClose(final SocketChannel channel)
    {
        try (Socket socket = channel.socket())
        {
            socket.setSoTimeout(20_000);
            if (socket.getInputStream().read() >= 0)
            {
                socket.getOutputStream().write('a');
            }
        }
        catch (final Exception ignore)
        {
            // the peer went away: nothing to answer
        }
    }

    /**
     * From each source address in turn-taking threads, COUNT connections one after another to DST:PORT: connect, send a
     * byte, read to the end, close. Prints "done N failed F" once all threads are done.
     */
    static void connectLoop(final String dst, final String port, final int count, final String... sources) throws Exception
    {
        final AtomicInteger done = new AtomicInteger();
        final AtomicInteger failed = new AtomicInteger();
        final List<Thread> threads = new ArrayList<>();
        for (final String source : sources)
        {
            final Thread thread = new Thread(() ->
            {
                for (int i = 0; i < count; i++)
                {
                    try (Socket socket = new Socket())
                    {
                        socket.setSoTimeout(20_000);
                        socket.bind(new InetSocketAddress(source, 0));
                        socket.connect(new InetSocketAddress(dst, Integer.parseInt(port)), 20_000);
                        socket.getOutputStream().write('q');
                        final InputStream in = socket.getInputStream();
                        while (in.read() >= 0)
                        {
                            // to the server's FIN
                        }
                        done.incrementAndGet();
                    }
                    catch (final Exception ex)
                    {
                        failed.incrementAndGet();
                    }
                }
            });
            thread.start();
            threads.add(thread);
        }
        for (final Thread thread : threads)
        {
            thread.join();
        }
        System.out.println("done " + done.get() + " failed " + failed.get());
    }
}
