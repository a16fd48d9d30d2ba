package natgw.gateway;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Backends and clients for the service end-to-end tests, each run as its own JVM inside a namespace:
 * {@code java -cp CLASSPATH natgw.gateway.ServicePeers MODE ARGS...}.
 * <ul>
 *   <li>{@code backend NAME TCP_PORTS UDP_PORTS}: an HTTP/1.0 server on each TCP port answering
 *   {@code NAME you-are SOURCE} and closing first (the server holds TIME_WAIT, so a client may reuse its port at
 *   once), printing {@code accept PORT SOURCE} for every connection it accepts; a DNS-like responder on each UDP
 *   port answering {@code NAME QUERY}. Ports are comma-separated, {@code -} for none.</li>
 *   <li>{@code http-ask VIP PORT SOURCES REQUESTS THREADS}: REQUESTS requests from each source address (a
 *   comma-separated list; {@code -} lets the kernel choose), on THREADS threads; prints {@code got SOURCE BODY} per
 *   answer, {@code error SOURCE MESSAGE} per failure, and {@code max-connect-ms N}.</li>
 *   <li>{@code load VIP PORT THREADS REUSE_THREADS STOP_FILE}: {@code ab -c THREADS}: each thread connects, asks,
 *   reads to the end and closes, in a loop, until STOP_FILE exists. REUSE_THREADS of them bind their source
 *   port from a small ring of their own, so new connections keep reusing the tuples of closed ones
 *   (incident 2). Prints {@code ready} after the first answer, then a summary.</li>
 *   <li>{@code dns-ask VIP PORT ROUNDS SOURCES TIMEOUT_MS}: per source address a thread; each round opens a UDP
 *   socket and sends the A and the AAAA query back to back (as musl does), then waits TIMEOUT_MS for both
 *   answers; prints a summary.</li>
 * </ul>
 */
public final class ServicePeers
{
    private ServicePeers()
    {
    }

    public static void main(final String[] args) throws Exception
    {
        switch (args[0])
        {
            case "backend":
                backend(args[1], ports(args[2]), ports(args[3]));
                break;
            case "http-ask":
                httpAsk(args[1], Integer.parseInt(args[2]), sources(args[3]), Integer.parseInt(args[4]), Integer.parseInt(args[5]));
                break;
            case "load":
                load(args[1], Integer.parseInt(args[2]), Integer.parseInt(args[3]), Integer.parseInt(args[4]), Path.of(args[5]));
                break;
            case "dns-ask":
                dnsAsk(args[1], Integer.parseInt(args[2]), Integer.parseInt(args[3]), sources(args[4]), Integer.parseInt(args[5]));
                break;
            default:
                throw new IllegalArgumentException("unknown mode " + args[0]);
        }
    }

    private static List<Integer> ports(final String text)
    {
        final List<Integer> ports = new ArrayList<>();
        if (!text.equals("-"))
        {
            for (final String p : text.split(","))
            {
                ports.add(Integer.parseInt(p));
            }
        }
        return ports;
    }

    private static List<String> sources(final String text)
    {
        return text.equals("-") ? List.of("-") : List.of(text.split(","));
    }

    // ------------------------------------------------------------------ backend

    private static void backend(final String name, final List<Integer> tcpPorts, final List<Integer> udpPorts) throws Exception
    {
        final ExecutorService connections = Executors.newCachedThreadPool(r ->
        {
            final Thread t = new Thread(r, "connection");
            t.setDaemon(true);
            return t;
        });
        final List<Thread> threads = new ArrayList<>();
        for (final int port : tcpPorts)
        {
            final ServerSocket server = new ServerSocket();
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(port), 1024);
            threads.add(new Thread(() ->
            {
                while (true)
                {
                    try
                    {
                        final Socket socket = server.accept();
                        final String source = socket.getInetAddress().getHostAddress();
                        System.out.println("accept " + port + " " + source);
                        connections.execute(() -> answerHttp(socket, name + " you-are " + source));
                    }
                    catch (final IOException ex)
                    {
                        System.out.println("accept-error " + ex);
                    }
                }
            }, "tcp-" + port));
        }
        for (final int port : udpPorts)
        {
            final DatagramSocket socket = new DatagramSocket(port);
            threads.add(new Thread(() ->
            {
                final byte[] buffer = new byte[2048];
                final byte[] prefix = (name + " ").getBytes(StandardCharsets.US_ASCII);
                final byte[] reply = new byte[prefix.length + buffer.length];
                System.arraycopy(prefix, 0, reply, 0, prefix.length);
                while (true)
                {
                    try
                    {
                        final DatagramPacket in = new DatagramPacket(buffer, buffer.length);
                        socket.receive(in);
                        System.arraycopy(buffer, 0, reply, prefix.length, in.getLength());
                        socket.send(new DatagramPacket(reply, prefix.length + in.getLength(), in.getSocketAddress()));
                    }
                    catch (final IOException ex)
                    {
                        System.out.println("udp-error " + ex);
                    }
                }
            }, "udp-" + port));
        }
        threads.forEach(Thread::start);
        System.out.println("ready");
        for (final Thread t : threads)
        {
            t.join();
        }
    }

    private static void answerHttp(final Socket socket, final String body)
    {
        try (socket)
        {
            // a client may hold its connection idle while the test changes the service with a CLI run, slow on a
            // loaded machine: closing it first would answer the client with a FIN the test did not ask for
            socket.setSoTimeout(600_000);
            final InputStream in = socket.getInputStream();
            int matched = 0;
            final byte[] end = { '\r', '\n', '\r', '\n' };
            int b;
            while (matched < 4 && (b = in.read()) >= 0)
            {
                matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
            }
            final byte[] content = (body + "\n").getBytes(StandardCharsets.US_ASCII);
            final OutputStream out = socket.getOutputStream();
            out.write(("HTTP/1.0 200 OK\r\nContent-Length: " + content.length + "\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
            out.write(content);
            out.flush();
        }
        catch (final IOException ignore)
        {
            // the client went away
        }
    }

    // ------------------------------------------------------------------ HTTP clients

    /**
     * One request on a fresh connection; returns the body, first line only. The timeouts only bound a connection
     * that will never be answered: a lost packet is counted at the gateway, not guessed from a slow answer.
     */
    private static String ask(final Socket socket, final String vip, final int port, final AtomicLong maxConnectNs)
        throws IOException
    {
        final long startNs = System.nanoTime();
        socket.connect(new InetSocketAddress(vip, port), 20_000);
        maxConnectNs.accumulateAndGet(System.nanoTime() - startNs, Math::max);
        socket.setSoTimeout(20_000);
        socket.getOutputStream().write(("GET / HTTP/1.0\r\nHost: " + vip + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        final String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        final int bodyAt = response.indexOf("\r\n\r\n");
        if (!response.startsWith("HTTP/1.0 200") || bodyAt < 0)
        {
            throw new IOException("bad response '" + response + "'");
        }
        return response.substring(bodyAt + 4).trim();
    }

    private static void httpAsk(final String vip, final int port, final List<String> sources, final int requests, final int threads)
        throws Exception
    {
        final ExecutorService pool = Executors.newFixedThreadPool(threads);
        final AtomicLong maxConnectNs = new AtomicLong();
        final List<java.util.concurrent.Future<String>> results = new ArrayList<>();
        for (final String source : sources)
        {
            for (int i = 0; i < requests; i++)
            {
                results.add(pool.submit(() ->
                {
                    try (Socket socket = new Socket())
                    {
                        if (!source.equals("-"))
                        {
                            socket.bind(new InetSocketAddress(source, 0));
                        }
                        return "got " + source + " " + ask(socket, vip, port, maxConnectNs);
                    }
                    catch (final IOException ex)
                    {
                        return "error " + source + " " + ex;
                    }
                }));
            }
        }
        final StringBuilder out = new StringBuilder();
        for (final java.util.concurrent.Future<String> r : results)
        {
            out.append(r.get()).append('\n');
        }
        pool.shutdown();
        out.append("max-connect-ms ").append(maxConnectNs.get() / 1_000_000.0).append('\n');
        System.out.print(out);
        System.out.flush();
    }

    private static void load(final String vip, final int port, final int threads, final int reuseThreads, final Path stopFile)
        throws Exception
    {
        final LongAdder requests = new LongAdder();
        final LongAdder errors = new LongAdder();
        final LongAdder slow = new LongAdder();
        final AtomicLong maxConnectNs = new AtomicLong();
        final Map<String, LongAdder> byBackend = new ConcurrentHashMap<>();
        final List<String> errorSamples = java.util.Collections.synchronizedList(new ArrayList<>());
        final List<Thread> workers = new ArrayList<>();
        final Object firstAnswer = new Object();
        final boolean[] answered = { false };
        for (int t = 0; t < threads; t++)
        {
            final int thread = t;
            workers.add(new Thread(() ->
            {
                final int ringSize = 20;
                int turn = 0;
                final AtomicLong connectNs = new AtomicLong();
                while (!Files.exists(stopFile))
                {
                    try (Socket socket = new Socket())
                    {
                        socket.setReuseAddress(true);
                        if (thread < reuseThreads)
                        {
                            // a ring of source ports of this thread's own: each new connection reuses a closed one's tuple
                            socket.bind(new InetSocketAddress(20_000 + thread * ringSize + turn++ % ringSize));
                        }
                        connectNs.set(0);
                        final String body = ask(socket, vip, port, connectNs);
                        maxConnectNs.accumulateAndGet(connectNs.get(), Math::max);
                        if (connectNs.get() > 200_000_000L)
                        {
                            slow.increment();
                            if (errorSamples.size() < 20)
                            {
                                errorSamples.add(System.currentTimeMillis() + " slow connect " + connectNs.get() / 1_000_000 +
                                    " ms from port " + socket.getLocalPort());
                            }
                        }
                        byBackend.computeIfAbsent(body.split(" ")[0], k -> new LongAdder()).increment();
                        requests.increment();
                        if (!answered[0])
                        {
                            synchronized (firstAnswer)
                            {
                                if (!answered[0])
                                {
                                    answered[0] = true;
                                    System.out.println("ready");
                                    System.out.flush();
                                }
                            }
                        }
                    }
                    catch (final IOException ex)
                    {
                        errors.increment();
                        if (errorSamples.size() < 20)
                        {
                            errorSamples.add(System.currentTimeMillis() + " " + ex);
                        }
                    }
                }
            }, "load-" + t));
        }
        workers.forEach(Thread::start);
        for (final Thread w : workers)
        {
            w.join();
        }
        final StringBuilder out = new StringBuilder();
        out.append("requests ").append(requests.sum()).append('\n');
        out.append("errors ").append(errors.sum()).append('\n');
        out.append("slow-connects ").append(slow.sum()).append('\n');
        out.append("max-connect-ms ").append(maxConnectNs.get() / 1_000_000.0).append('\n');
        for (final Map.Entry<String, LongAdder> e : new TreeMap<>(byBackend).entrySet())
        {
            out.append("backend ").append(e.getKey()).append(' ').append(e.getValue().sum()).append('\n');
        }
        for (final String e : errorSamples)
        {
            out.append("sample ").append(e).append('\n');
        }
        out.append("done\n");
        System.out.print(out);
        System.out.flush();
    }

    // ------------------------------------------------------------------ DNS-like client

    private static void dnsAsk(final String vip, final int port, final int rounds, final List<String> sources, final int timeoutMs)
        throws Exception
    {
        final LongAdder answered = new LongAdder();
        final LongAdder timeouts = new LongAdder();
        final LongAdder split = new LongAdder();
        final LongAdder wrong = new LongAdder();
        final AtomicLong maxNs = new AtomicLong();
        final Map<String, LongAdder> byBackend = new ConcurrentHashMap<>();
        final List<String> samples = java.util.Collections.synchronizedList(new ArrayList<>());
        final List<Thread> threads = new ArrayList<>();
        final InetSocketAddress target = new InetSocketAddress(vip, port);
        for (final String source : sources)
        {
            threads.add(new Thread(() ->
            {
                final byte[] buffer = new byte[512];
                for (int round = 0; round < rounds; round++)
                {
                    try (DatagramSocket socket = source.equals("-") ? new DatagramSocket() :
                        new DatagramSocket(new InetSocketAddress(InetAddress.getByName(source), 0)))
                    {
                        socket.setSoTimeout(timeoutMs);
                        final String id = Integer.toHexString(round);
                        final byte[] a = ("q " + id + " A").getBytes(StandardCharsets.US_ASCII);
                        final byte[] aaaa = ("q " + id + " AAAA").getBytes(StandardCharsets.US_ASCII);
                        final long startNs = System.nanoTime();
                        // one socket, one 5-tuple, two datagrams back to back: musl's concurrent A and AAAA
                        socket.send(new DatagramPacket(a, a.length, target));
                        socket.send(new DatagramPacket(aaaa, aaaa.length, target));
                        String firstBackend = null;
                        boolean gotA = false;
                        boolean gotAaaa = false;
                        final long deadlineNs = startNs + timeoutMs * 1_000_000L;
                        while (!(gotA && gotAaaa))
                        {
                            final long leftMs = (deadlineNs - System.nanoTime()) / 1_000_000L;
                            if (leftMs <= 0)
                            {
                                throw new SocketTimeoutException("left");
                            }
                            socket.setSoTimeout((int)leftMs);
                            final DatagramPacket in = new DatagramPacket(buffer, buffer.length);
                            socket.receive(in);
                            final String[] words = new String(buffer, 0, in.getLength(), StandardCharsets.US_ASCII).split(" ");
                            if (words.length != 4 || !words[2].equals(id) ||
                                !in.getAddress().getHostAddress().equals(vip) || in.getPort() != port)
                            {
                                wrong.increment();
                                continue;
                            }
                            gotA |= words[3].equals("A");
                            gotAaaa |= words[3].equals("AAAA");
                            if (firstBackend == null)
                            {
                                firstBackend = words[0];
                                byBackend.computeIfAbsent(firstBackend, k -> new LongAdder()).increment();
                            }
                            else if (!firstBackend.equals(words[0]))
                            {
                                split.increment();
                            }
                            answered.increment();
                        }
                        maxNs.accumulateAndGet(System.nanoTime() - startNs, Math::max);
                    }
                    catch (final SocketTimeoutException ex)
                    {
                        timeouts.increment();
                        if (samples.size() < 10)
                        {
                            samples.add(source + " round " + round);
                        }
                    }
                    catch (final IOException ex)
                    {
                        timeouts.increment();
                        if (samples.size() < 10)
                        {
                            samples.add(source + " round " + round + " " + ex);
                        }
                    }
                }
            }, "dns-" + source));
        }
        threads.forEach(Thread::start);
        for (final Thread t : threads)
        {
            t.join();
        }
        final StringBuilder out = new StringBuilder();
        out.append("rounds ").append((long)rounds * sources.size()).append('\n');
        out.append("answered ").append(answered.sum()).append('\n');
        out.append("timeouts ").append(timeouts.sum()).append('\n');
        out.append("split ").append(split.sum()).append('\n');
        out.append("wrong ").append(wrong.sum()).append('\n');
        out.append("max-ms ").append(maxNs.get() / 1_000_000.0).append('\n');
        for (final Map.Entry<String, LongAdder> e : new TreeMap<>(byBackend).entrySet())
        {
            out.append("backend ").append(e.getKey()).append(' ').append(e.getValue().sum()).append('\n');
        }
        for (final String s : samples)
        {
            out.append("timeout-sample ").append(s).append('\n');
        }
        System.out.print(out);
        System.out.flush();
    }
}
