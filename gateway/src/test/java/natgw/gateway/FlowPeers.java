package natgw.gateway;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;

/**
 * One long TCP connection and one UDP flow that keep talking through the gateway, for the restart tests
 * ({@link LabPeers} {@code flow-server} and {@code flow-client}). The output is kept short, one line per
 * event worth knowing: a connection accepted, a new UDP source, a reply after silence, an error.
 */
final class FlowPeers
{
    /** A reply after this long without one is reported: the flow resumed. */
    private static final long SILENCE_MS = 300;
    private static final long INTERVAL_MS = 20;

    private FlowPeers()
    {
    }

    /**
     * TCP and UDP on {@code port}: answers each line and datagram with the source it came from; prints
     * {@code tcp-accept ADDR:PORT} per connection and {@code udp-source ADDR:PORT} per new UDP source.
     */
    static void server(final int port) throws Exception
    {
        final ServerSocket listener = new ServerSocket(port);
        final DatagramSocket udp = new DatagramSocket(port);
        final Thread accepting = new Thread(() ->
        {
            try
            {
                while (true)
                {
                    final Socket socket = listener.accept();
                    final String from = text(socket.getRemoteSocketAddress());
                    System.out.println("tcp-accept " + from);
                    final Thread echo = new Thread(() -> echo(socket, from));
                    echo.setDaemon(true);
                    echo.start();
                }
            }
            catch (final Exception ex)
            {
                System.out.println("tcp-accept-error " + ex);
            }
        });
        accepting.setDaemon(true);
        accepting.start();
        System.out.println("ready");
        final Set<String> sources = new HashSet<>();
        final byte[] buffer = new byte[2048];
        while (true)
        {
            final DatagramPacket in = new DatagramPacket(buffer, buffer.length);
            udp.receive(in);
            final String from = text(in.getSocketAddress());
            if (sources.add(from))
            {
                System.out.println("udp-source " + from);
            }
            final byte[] reply = ("from " + from).getBytes(StandardCharsets.UTF_8);
            try
            {
                udp.send(new DatagramPacket(reply, reply.length, in.getSocketAddress()));
            }
            catch (final java.io.IOException ex)
            {
                // no route back to a source that came untranslated: it is reported above, the server goes on
            }
        }
    }

    private static void echo(final Socket socket, final String from)
    {
        try (socket)
        {
            final BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            final OutputStream out = socket.getOutputStream();
            for (String line; (line = in.readLine()) != null; )
            {
                out.write(("you-are " + from + " " + line + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
            System.out.println("tcp-closed " + from);
        }
        catch (final Exception ex)
        {
            System.out.println("tcp-error " + from + " " + ex);
        }
    }

    /**
     * Connects once, then every {@value #INTERVAL_MS} ms sends a line on the connection and a datagram from
     * one socket. Prints {@code tcp-first|udp-first EPOCH_MS ANSWER} at the first answer of each, and {@code tcp-resumed|udp-resumed
     * EPOCH_MS GAP_MS ANSWER} for an answer after {@value #SILENCE_MS} ms of silence; an error on the
     * connection prints {@code tcp-error} and ends the process.
     */
    static void client(final String host, final int port) throws Exception
    {
        final Socket tcp = new Socket();
        tcp.setTcpNoDelay(true);
        tcp.connect(new InetSocketAddress(host, port), 10_000);
        final DatagramSocket udp = new DatagramSocket();
        udp.connect(new InetSocketAddress(host, port));
        udp.setSoTimeout(1_000);
        final long[] lastAnswerMs = {0, 0};
        final Thread tcpReader = new Thread(() ->
        {
            try
            {
                final BufferedReader in = new BufferedReader(new InputStreamReader(tcp.getInputStream(), StandardCharsets.UTF_8));
                for (String line; (line = in.readLine()) != null; )
                {
                    answered("tcp", line, lastAnswerMs, 0);
                }
                System.out.println("tcp-error closed by the peer");
            }
            catch (final Exception ex)
            {
                System.out.println("tcp-error " + ex);
            }
            System.exit(1);
        });
        final Thread udpReader = new Thread(() ->
        {
            final DatagramPacket in = new DatagramPacket(new byte[2048], 2048);
            while (true)
            {
                try
                {
                    udp.receive(in);
                    answered("udp", new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8), lastAnswerMs, 1);
                }
                catch (final SocketTimeoutException ex)
                {
                    // silence while the gateway is away: keep listening
                }
                catch (final Exception ex)
                {
                    System.out.println("udp-error " + ex);
                }
            }
        });
        tcpReader.setDaemon(true);
        udpReader.setDaemon(true);
        tcpReader.start();
        udpReader.start();
        final OutputStream out = tcp.getOutputStream();
        for (long n = 0; ; n++)
        {
            out.write((n + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            final byte[] datagram = Long.toString(n).getBytes(StandardCharsets.UTF_8);
            try
            {
                udp.send(new DatagramPacket(datagram, datagram.length));
            }
            catch (final java.io.IOException ex)
            {
                System.out.println("udp-error " + ex); // an ICMP error for an earlier datagram: the flow goes on
            }
            Thread.sleep(INTERVAL_MS);
        }
    }

    private static void answered(final String kind, final String answer, final long[] lastAnswerMs, final int which)
    {
        final long nowMs = System.currentTimeMillis();
        synchronized (lastAnswerMs)
        {
            final long gapMs = lastAnswerMs[which] == 0 ? -1 : nowMs - lastAnswerMs[which];
            lastAnswerMs[which] = nowMs;
            if (gapMs < 0)
            {
                System.out.println(kind + "-first " + nowMs + " " + answer);
            }
            else if (gapMs >= SILENCE_MS)
            {
                System.out.println(kind + "-resumed " + nowMs + " " + gapMs + " " + answer);
            }
        }
    }

    private static String text(final SocketAddress address)
    {
        final InetSocketAddress inet = (InetSocketAddress)address;
        return inet.getAddress().getHostAddress() + ":" + inet.getPort();
    }
}
