package natgw.perf.bench.behave;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The sockets of the conformance suite, run as a child JVM inside one lab namespace: plain Java sockets, nothing of
 * natgw. It reads requests {@code ID COMMAND ARGS...} on stdin, runs each on its own thread and answers
 * {@code ID ok ...}, {@code ID none} or {@code ID err ...} on stdout, so the suite drives many checks at once.
 *
 * <p>A "seen" server ({@code serve IP PORT}, UDP and TCP) tells each peer the source it saw: a UDP datagram is answered
 * with {@code seen IP:PORT|} and the datagram itself (so a large datagram comes back as large), a TCP connection gets
 * the line {@code seen IP:PORT} and is closed when the peer closes it.
 */
public final class BehaveAgent
{
    static final String SEEN = "seen ";
    private static final int MAX_DATAGRAM = 65_535;

    private final PrintStream out;
    private final Map<String, DatagramSocket> udp = new ConcurrentHashMap<>();
    private final Map<String, BlockingQueue<Received>> inboxes = new ConcurrentHashMap<>();
    private final Map<String, BlockingQueue<String>> accepted = new ConcurrentHashMap<>();
    private final Map<String, Boolean> served = new ConcurrentHashMap<>();
    private final List<AutoCloseable> open = new ArrayList<>();
    private final ExecutorService threads = Executors.newCachedThreadPool(r ->
    {
        final Thread t = new Thread(r, "agent");
        t.setDaemon(true);
        return t;
    });

    /** A datagram received on an opened socket. */
    record Received(String from, int size, String text)
    {
    }

    private BehaveAgent(final PrintStream out)
    {
        this.out = out;
    }

    public static void main(final String[] args) throws IOException
    {
        final BehaveAgent agent = new BehaveAgent(new PrintStream(System.out, true, StandardCharsets.UTF_8));
        agent.out.println("0 ok ready");
        final BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null && !line.equals("quit"))
        {
            final String request = line;
            agent.threads.execute(() -> agent.handle(request));
        }
        System.exit(0);
    }

    private void handle(final String request)
    {
        final String[] words = request.strip().split("\\s+");
        String answer;
        try
        {
            answer = run(words[1], Arrays.copyOfRange(words, 2, words.length));
        }
        catch (final Exception e)
        {
            answer = "err " + e.getClass().getSimpleName() + ": " + e.getMessage();
        }
        synchronized (out)
        {
            out.println(words[0] + " " + answer.replace('\n', ' '));
        }
    }

    private String run(final String command, final String[] a) throws Exception
    {
        return switch (command)
        {
            case "serve" -> serve(a[0], Integer.parseInt(a[1]));
            case "udp-open" -> udpOpen(a[0], a[1], Integer.parseInt(a[2]));
            case "udp-send" -> udpSend(a[0], a[1], Integer.parseInt(a[2]), Integer.parseInt(a[3]));
            case "udp-ask" -> udpAsk(a[0], a[1], Integer.parseInt(a[2]), Integer.parseInt(a[3]), Long.parseLong(a[4]));
            case "udp-recv" -> udpRecv(a[0], Long.parseLong(a[1]));
            case "udp-send-from" -> udpSendFrom(a[0], Integer.parseInt(a[1]), a[2], Integer.parseInt(a[3]));
            case "tcp-listen" -> tcpListen(a[0], a[1], Integer.parseInt(a[2]));
            case "tcp-accepted" -> tcpAccepted(a[0], Long.parseLong(a[1]));
            case "tcp-ask" -> tcpConnect(a[0], Integer.parseInt(a[1]), a[2], Integer.parseInt(a[3]),
                Integer.parseInt(a[4]), true, false);
            case "tcp-connect" -> tcpConnect(a[0], Integer.parseInt(a[1]), a[2], Integer.parseInt(a[3]),
                Integer.parseInt(a[4]), false, false);
            case "tcp-cycle" -> tcpConnect(a[0], Integer.parseInt(a[1]), a[2], Integer.parseInt(a[3]),
                Integer.parseInt(a[4]), true, true);
            case "tcp-probe" -> tcpProbe(a[0], Integer.parseInt(a[1]), Long.parseLong(a[2]));
            case "reset" -> reset();
            default -> "err unknown command " + command;
        };
    }

    private String serve(final String ip, final int port) throws IOException
    {
        if (served.putIfAbsent(ip + ":" + port, Boolean.TRUE) != null)
        {
            return "ok already";
        }
        final DatagramSocket socket = new DatagramSocket(new InetSocketAddress(ip, port));
        final ServerSocket server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(ip, port), 128);
        threads.execute(() -> echoSeen(socket));
        threads.execute(() -> acceptLoop(server, client -> threads.execute(() -> tellSeen(client))));
        return "ok";
    }

    private static void echoSeen(final DatagramSocket socket)
    {
        receiveLoop(socket, packet ->
        {
            final byte[] head = (SEEN + endpoint(packet.getAddress(), packet.getPort()) + "|")
                .getBytes(StandardCharsets.US_ASCII);
            final byte[] reply = new byte[head.length + packet.getLength()];
            System.arraycopy(head, 0, reply, 0, head.length);
            System.arraycopy(packet.getData(), 0, reply, head.length, packet.getLength());
            socket.send(new DatagramPacket(reply, reply.length, packet.getSocketAddress()));
        });
    }

    /** What a {@link #receiveLoop} does with each datagram. */
    private interface DatagramHandler
    {
        void onDatagram(DatagramPacket packet) throws IOException;
    }

    /** Receives datagrams until the socket closes; an I/O error (an ICMP error to an earlier send) does not end it. */
    private static void receiveLoop(final DatagramSocket socket, final DatagramHandler handler)
    {
        final byte[] buffer = new byte[MAX_DATAGRAM];
        final DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
        while (!socket.isClosed())
        {
            try
            {
                packet.setData(buffer);
                socket.receive(packet);
                handler.onDatagram(packet);
            }
            catch (final IOException e)
            {
                // closed, or an ICMP error to an earlier send: go on
            }
        }
    }

    private static void tellSeen(final Socket client)
    {
        try (client)
        {
            client.getOutputStream().write((SEEN + endpoint(client.getInetAddress(), client.getPort()) + "\n")
                .getBytes(StandardCharsets.US_ASCII));
            // closed once the peer closes: a full close, both FINs, for the timer checks
            while (client.getInputStream().read() >= 0)
            {
                // discard
            }
        }
        catch (final IOException e)
        {
            // peer gone
        }
    }

    private interface Acceptor
    {
        void accept(Socket socket);
    }

    private static void acceptLoop(final ServerSocket server, final Acceptor acceptor)
    {
        while (!server.isClosed())
        {
            try
            {
                acceptor.accept(server.accept());
            }
            catch (final IOException e)
            {
                return;
            }
        }
    }

    private String udpOpen(final String name, final String ip, final int port) throws IOException
    {
        final DatagramSocket socket = new DatagramSocket(null);
        socket.setReuseAddress(true);
        socket.bind(new InetSocketAddress(ip, port));
        keep(socket);
        final BlockingQueue<Received> inbox = new LinkedBlockingQueue<>();
        udp.put(name, socket);
        inboxes.put(name, inbox);
        threads.execute(() -> receiveLoop(socket, packet ->
        {
            final String text = new String(packet.getData(), 0, Math.min(packet.getLength(), 80), StandardCharsets.US_ASCII);
            inbox.add(new Received(endpoint(packet.getAddress(), packet.getPort()), packet.getLength(), text));
        }));
        return "ok " + socket.getLocalPort();
    }

    private DatagramSocket socket(final String name)
    {
        final DatagramSocket socket = udp.get(name);
        if (socket == null)
        {
            throw new IllegalArgumentException("no socket " + name);
        }
        return socket;
    }

    private String udpSend(final String name, final String ip, final int port, final int size) throws IOException
    {
        final byte[] payload = payload(size);
        socket(name).send(new DatagramPacket(payload, payload.length, new InetSocketAddress(ip, port)));
        return "ok";
    }

    /** Sends to a seen server until it answers (a first datagram may wait on ARP); answers with the source seen. */
    private String udpAsk(final String name, final String ip, final int port, final int size, final long timeoutMs)
        throws Exception
    {
        final BlockingQueue<Received> inbox = inboxes.get(name);
        final String server = ip + ":" + port;
        final long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (System.nanoTime() < deadlineNs)
        {
            udpSend(name, ip, port, size);
            final long resendNs = Math.min(deadlineNs, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300));
            Received r;
            while ((r = inbox.poll(Math.max(0, resendNs - System.nanoTime()), TimeUnit.NANOSECONDS)) != null)
            {
                if (r.from().equals(server) && r.text().startsWith(SEEN))
                {
                    return "ok seen=" + r.text().substring(SEEN.length(), r.text().indexOf('|')) + " size=" + r.size();
                }
            }
        }
        return "none";
    }

    private String udpRecv(final String name, final long timeoutMs) throws InterruptedException
    {
        final Received r = inboxes.get(name).poll(timeoutMs, TimeUnit.MILLISECONDS);
        return r == null ? "none" : "ok from=" + r.from() + " size=" + r.size();
    }

    private String udpSendFrom(final String ip, final int port, final String dstIp, final int dstPort)
        throws IOException
    {
        try (DatagramSocket socket = new DatagramSocket(null))
        {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(ip, port));
            final byte[] payload = payload(32);
            socket.send(new DatagramPacket(payload, payload.length, new InetSocketAddress(dstIp, dstPort)));
        }
        return "ok";
    }

    private String tcpListen(final String name, final String ip, final int port) throws IOException
    {
        final ServerSocket server = new ServerSocket();
        server.setReuseAddress(true);
        server.setOption(StandardSocketOptions.SO_REUSEPORT, true);
        server.bind(new InetSocketAddress(ip, port), 16);
        keep(server);
        final BlockingQueue<String> queue = new LinkedBlockingQueue<>();
        accepted.put(name, queue);
        threads.execute(() -> acceptLoop(server, socket ->
        {
            keep(socket);
            queue.add(endpoint(socket.getInetAddress(), socket.getPort()));
        }));
        return "ok";
    }

    private String tcpAccepted(final String name, final long timeoutMs) throws InterruptedException
    {
        final String from = accepted.get(name).poll(timeoutMs, TimeUnit.MILLISECONDS);
        return from == null ? "none" : "ok from=" + from;
    }

    /**
     * Connects from ip:port (0: any) with SO_REUSEADDR and SO_REUSEPORT, so that several connections and a listener
     * share one local port. With {@code ask}, reads the seen server's line; with {@code close}, closes the connection
     * (the server closes too), else keeps it open so that its mapping stays.
     */
    private String tcpConnect(final String ip, final int port, final String dstIp, final int dstPort,
        final int timeoutMs, final boolean ask, final boolean close) throws IOException
    {
        final Socket socket = new Socket();
        socket.setReuseAddress(true);
        socket.setOption(StandardSocketOptions.SO_REUSEPORT, true);
        socket.bind(new InetSocketAddress(ip, port));
        final int local = socket.getLocalPort();
        try
        {
            socket.connect(new InetSocketAddress(dstIp, dstPort), timeoutMs);
            String answer = "ok local=" + local;
            if (ask)
            {
                socket.setSoTimeout(timeoutMs);
                final String line = new BufferedReader(new InputStreamReader(socket.getInputStream(),
                    StandardCharsets.US_ASCII)).readLine();
                if (line == null || !line.startsWith(SEEN))
                {
                    socket.close();
                    return "err no seen line: " + line;
                }
                answer += " seen=" + line.substring(SEEN.length());
            }
            if (close)
            {
                socket.shutdownOutput();
                while (socket.getInputStream().read() >= 0)
                {
                    // until the server's FIN
                }
                socket.close();
            }
            else
            {
                keep(socket);
            }
            return answer;
        }
        catch (final SocketTimeoutException e)
        {
            socket.close();
            return "err timeout local=" + local;
        }
        catch (final SocketException e)
        {
            socket.close();
            return "err " + e.getMessage() + " local=" + local;
        }
    }

    /**
     * An unsolicited SYN: connects without blocking and waits for any answer. {@code silent} when nothing came within
     * {@code waitMs}; else what came (connected, refused by a RST, an ICMP error) and after how many milliseconds.
     */
    private String tcpProbe(final String dstIp, final int dstPort, final long waitMs) throws IOException
    {
        try (SocketChannel channel = SocketChannel.open(); Selector selector = Selector.open())
        {
            channel.configureBlocking(false);
            final long startNs = System.nanoTime();
            if (channel.connect(new InetSocketAddress(dstIp, dstPort)))
            {
                return "ok connected after=0";
            }
            channel.register(selector, SelectionKey.OP_CONNECT);
            final long deadlineNs = startNs + TimeUnit.MILLISECONDS.toNanos(waitMs);
            while (System.nanoTime() < deadlineNs)
            {
                if (selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNs - System.nanoTime()))) > 0)
                {
                    final long afterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
                    try
                    {
                        channel.finishConnect();
                        return "ok connected after=" + afterMs;
                    }
                    catch (final IOException e)
                    {
                        return "ok answered after=" + afterMs + " " + e.getMessage().replace(' ', '_');
                    }
                }
            }
            return "ok silent after=" + waitMs;
        }
    }

    private synchronized void keep(final AutoCloseable closeable)
    {
        open.add(closeable);
    }

    /**
     * Closes every socket opened since the last reset (the seen servers stay), connections with a RST (SO_LINGER 0)
     * so that the next target's checks can bind the same ports without a TIME_WAIT in the way.
     */
    private synchronized String reset() throws Exception
    {
        for (final AutoCloseable closeable : open)
        {
            if (closeable instanceof Socket socket && !socket.isClosed())
            {
                socket.setSoLinger(true, 0);
            }
            closeable.close();
        }
        open.clear();
        udp.clear();
        inboxes.clear();
        accepted.clear();
        return "ok";
    }

    static byte[] payload(final int size)
    {
        final byte[] payload = new byte[size];
        Arrays.fill(payload, (byte)'x');
        return payload;
    }

    static String endpoint(final InetAddress address, final int port)
    {
        return address.getHostAddress() + ":" + port;
    }
}
