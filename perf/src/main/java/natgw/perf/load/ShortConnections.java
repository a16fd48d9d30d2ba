package natgw.perf.load;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.SingleWriterRecorder;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Short TCP request/response connections: connect, send a request, read the echoed response, close with RST.
 *
 * <ul>
 *   <li>{@code --mode closed}: C connections in flight at all times; each finished one is replaced at once. The
 *       rate is whatever the path sustains; latency is measured from each connection's own start.</li>
 *   <li>{@code --mode open}: connections start on a fixed schedule (rate R per second, spread over the threads)
 *       whatever happens to earlier ones. Latencies are measured from the <em>intended</em> start time, so a
 *       loader or path that falls behind shows up in the tail instead of silently lowering the load
 *       (coordinated omission corrected by construction).</li>
 * </ul>
 * Records {@code connect} (start to established) and {@code request} (start to full response) histograms, and counts
 * connects slower than {@code --slow-ms} ({@code slow}, 200 ms) and {@code --stall-ms} ({@code stalls}, 1 s).
 * With {@code --source-ports LO-HI} the connections bind these source ports in turn (each thread its own share, every
 * client address each port), so a tuple comes back as soon as the pool has gone round: new connections reuse the
 * tuples of closed ones within seconds, as a benchmark client with TIME_WAIT reuse does (incident 2); without it the
 * kernel picks ephemeral ports. Prints {@code measuring} when the measured run is about to start (200 ms later), then
 * {@code progress completed=N errors=E} lines while it runs. Before the measured run, the same code runs
 * closed loop on loopback for {@code --warmup-s} seconds (nothing crosses the gateway) so that the JIT has compiled
 * it and the load generator's own warm-up does not show in the open-loop tail.
 */
public final class ShortConnections
{
    static final int MAX_IN_FLIGHT_PER_THREAD = 4096;

    public static void main(final String[] argv) throws Exception
    {
        final Options options = ServerOptions.parse(new Options(), argv);
        final InetSocketAddress server = new InetSocketAddress(options.client.server, options.tcp.port);
        final List<String> sources = options.client.sources;
        final boolean open = "open".equals(options.mode);
        final int threads = Math.max(1, options.tcp.threads);
        final int concurrency = Math.max(threads, options.concurrency);
        final double rate = options.rate;
        final long durationNs = TimeUnit.MILLISECONDS.toNanos((long)(options.durationS * 1000));
        final int requestBytes = Math.max(1, Math.min(1024, options.requestBytes));
        final long timeoutNs = TimeUnit.MILLISECONDS.toNanos(options.tcp.timeoutMs);
        final long stallNs = TimeUnit.MILLISECONDS.toNanos(options.client.stallMs);
        final long slowNs = TimeUnit.MILLISECONDS.toNanos(options.slowMs);
        final int[] portRange = portRange(options.sourcePorts);
        final Path out = options.client.out;
        final long periodNs = (long)(1e9 * threads / rate);

        final double warmupS = options.warmupS;
        if (warmupS > 0)
        {
            // the same code, closed loop on loopback against an in-process echo server, so the JIT has compiled it
            final InetSocketAddress local = new InetSocketAddress("127.0.0.1", EchoServer.startInProcess("127.0.0.1"));
            final List<String> loopback = List.of("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5");
            final long warmStartNs = System.nanoTime();
            final long warmEndNs = warmStartNs + (long)(warmupS * 1e9);
            final List<Worker> warmup = new ArrayList<>();
            for (int t = 0; t < threads; t++)
            {
                warmup.add(new Worker(t, local, loopback, false, 4, warmStartNs, periodNs, warmEndNs, timeoutNs,
                    stallNs, slowNs, requestBytes, new int[0]));
            }
            warmup.forEach(Thread::start);
            for (final Worker worker : warmup)
            {
                worker.join();
            }
        }

        final long startNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
        System.out.println("measuring");
        System.out.flush();
        final long endNs = startNs + durationNs;
        final List<Worker> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++)
        {
            final int users = concurrency / threads + (t < concurrency % threads ? 1 : 0);
            workers.add(new Worker(t, server, sources, open, users, startNs + t * (long)(1e9 / rate), periodNs,
                endNs, timeoutNs, stallNs, slowNs, requestBytes, threadPorts(portRange, t, threads)));
        }
        workers.forEach(Thread::start);
        boolean running = true;
        while (running)
        {
            running = false;
            for (final Worker worker : workers)
            {
                worker.join(500);
                running |= worker.isAlive();
            }
            long completed = 0;
            long errors = 0;
            for (final Worker worker : workers)
            {
                completed += worker.completed;
                errors += worker.errorCount;
            }
            System.out.println("progress completed=" + completed + " errors=" + errors);
        }

        final Histogram connect = LoadResult.newHistogram();
        final Histogram request = LoadResult.newHistogram();
        final Map<String, Long> errors = new LinkedHashMap<>();
        long completed = 0;
        long attempted = 0;
        long stalls = 0;
        long slow = 0;
        for (final Worker worker : workers)
        {
            if (worker.failure != null)
            {
                throw new IllegalStateException("load thread failed", worker.failure);
            }
            connect.add(worker.connectLatency.getIntervalHistogram());
            request.add(worker.requestLatency.getIntervalHistogram());
            completed += worker.completed;
            attempted += worker.attempted;
            stalls += worker.stalls;
            slow += worker.slow;
            worker.errors.forEach((k, v) -> errors.merge(k, v, Long::sum));
        }
        final double seconds = durationNs / 1e9;
        final LoadResult result = new LoadResult()
            .histogram("connect", connect)
            .histogram("request", request)
            .count("attempted", attempted)
            .count("completed", completed)
            .count("stalls", stalls)
            .count("slow", slow)
            .count("errors", errors.values().stream().mapToLong(Long::longValue).sum())
            .value("duration_s", seconds)
            .value("conn_per_s", completed / seconds);
        if (open)
        {
            result.value("target_conn_per_s", rate);
        }
        errors.forEach((k, v) -> result.count("error_" + k, v));
        result.write(out);
        System.out.println("done completed=" + completed + " errors=" + errors);
    }

    /** {@code LO-HI} to {lo, hi}; {@code 0-0} means ephemeral ports. */
    static int[] portRange(final String text)
    {
        final String[] parts = text.split("-");
        final int lo = Integer.parseInt(parts[0].strip());
        final int hi = Integer.parseInt(parts[parts.length - 1].strip());
        if (lo < 0 || hi > 65535 || hi < lo || (lo == 0) != (hi == 0))
        {
            throw new IllegalArgumentException("--source-ports must be LO-HI within 1-65535, not " + text);
        }
        return new int[] {lo, hi};
    }

    /** Thread t's share of the source ports: lo + t, lo + t + threads, ...; empty for ephemeral ports. */
    static int[] threadPorts(final int[] range, final int thread, final int threads)
    {
        if (range[0] == 0)
        {
            return new int[0];
        }
        final List<Integer> ports = new ArrayList<>();
        for (int port = range[0] + thread; port <= range[1]; port += threads)
        {
            ports.add(port);
        }
        if (ports.isEmpty())
        {
            throw new IllegalArgumentException("--source-ports " + range[0] + "-" + range[1] + ": fewer ports than " +
                "threads");
        }
        return ports.stream().mapToInt(Integer::intValue).toArray();
    }

    static final class Conn
    {
        final SocketChannel channel;
        final long originNs;
        boolean connected;
        int received;

        Conn(final SocketChannel channel, final long originNs)
        {
            this.channel = channel;
            this.originNs = originNs;
        }
    }

    static final class Worker extends Thread
    {
        private final InetSocketAddress server;
        private final List<InetSocketAddress> sources = new ArrayList<>();
        private final boolean open;
        private final int users;
        private final long firstNs;
        private final long periodNs;
        private final long endNs;
        private final long timeoutNs;
        private final long stallNs;
        private final long slowNs;
        private final int[] ports;
        private final ByteBuffer request;
        private final ByteBuffer readBuffer = ByteBuffer.allocateDirect(2048);
        private final SingleWriterRecorder connectLatency = new SingleWriterRecorder(
            LoadResult.HIGHEST_TRACKABLE_NS, LoadResult.SIGNIFICANT_DIGITS);
        private final SingleWriterRecorder requestLatency = new SingleWriterRecorder(
            LoadResult.HIGHEST_TRACKABLE_NS, LoadResult.SIGNIFICANT_DIGITS);
        private final Map<String, Long> errors = new LinkedHashMap<>();
        private final List<Conn> inFlight = new ArrayList<>();
        private Selector selector;
        private int nextSource;
        private long nextPair;
        private long nextIntendedNs;
        private long nextTimeoutCheckNs;
        private int replacements;

        volatile long completed;
        volatile long errorCount;
        long attempted;
        long stalls;
        long slow;
        Throwable failure;

        Worker(final int index, final InetSocketAddress server, final List<String> sourceAddresses, final boolean open,
            final int users, final long firstNs, final long periodNs, final long endNs, final long timeoutNs,
            final long stallNs, final long slowNs, final int requestBytes, final int[] ports)
        {
            super("short-" + index);
            this.server = server;
            for (int i = index; i < sourceAddresses.size() + index; i++)
            {
                sources.add(new InetSocketAddress(sourceAddresses.get(i % sourceAddresses.size()), 0));
            }
            this.open = open;
            this.users = users;
            this.firstNs = firstNs;
            this.periodNs = periodNs;
            this.endNs = endNs;
            this.timeoutNs = timeoutNs;
            this.stallNs = stallNs;
            this.slowNs = slowNs;
            this.ports = ports;
            this.request = ByteBuffer.allocateDirect(requestBytes);
            for (int i = 0; i < requestBytes; i++)
            {
                request.put((byte)('a' + i % 26));
            }
            request.flip();
        }

        @Override
        public void run()
        {
            try (Selector sel = Selector.open())
            {
                selector = sel;
                while (System.nanoTime() < firstNs)
                {
                    Thread.onSpinWait();
                }
                if (open)
                {
                    runOpen();
                }
                else
                {
                    for (int i = 0; i < users; i++)
                    {
                        start(System.nanoTime());
                    }
                    while (System.nanoTime() < endNs)
                    {
                        pump(endNs);
                        while (replacements > 0 && System.nanoTime() < endNs)
                        {
                            replacements--;
                            start(System.nanoTime());
                        }
                    }
                }
                final long drainDeadlineNs = System.nanoTime() + timeoutNs;
                while (!inFlight.isEmpty() && System.nanoTime() < drainDeadlineNs)
                {
                    pump(Math.min(drainDeadlineNs, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20)));
                }
                for (final Conn conn : new ArrayList<>(inFlight))
                {
                    fail(conn, "timeout");
                }
            }
            catch (final Throwable t)
            {
                failure = t;
            }
        }

        private void runOpen() throws IOException
        {
            nextIntendedNs = firstNs;
            while (nextIntendedNs < endNs)
            {
                final long nowNs = System.nanoTime();
                while (nextIntendedNs <= nowNs && nextIntendedNs < endNs && inFlight.size() < MAX_IN_FLIGHT_PER_THREAD)
                {
                    start(nextIntendedNs);
                    nextIntendedNs += periodNs;
                }
                pump(Math.min(nextIntendedNs, endNs));
            }
        }

        private void start(final long originNs) throws IOException
        {
            attempted++;
            final SocketChannel channel = SocketChannel.open();
            final Conn conn = new Conn(channel, originNs);
            inFlight.add(conn);
            try
            {
                channel.configureBlocking(false);
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                if (ports.length == 0)
                {
                    channel.bind(sources.get(nextSource));
                    nextSource = (nextSource + 1) % sources.size();
                }
                else
                {
                    // every address with one port, then the next port: a tuple returns after sources x ports
                    final int source = (int)(nextPair % sources.size());
                    final int port = ports[(int)(nextPair / sources.size() % ports.length)];
                    nextPair++;
                    channel.setOption(StandardSocketOptions.SO_REUSEADDR, true);
                    channel.bind(new InetSocketAddress(sources.get(source).getAddress(), port));
                }
                if (channel.connect(server))
                {
                    channel.register(selector, 0, conn);
                    connected(conn);
                }
                else
                {
                    channel.register(selector, SelectionKey.OP_CONNECT, conn);
                }
            }
            catch (final IOException e)
            {
                fail(conn, ConnectStorm.classify(e));
            }
        }

        private void pump(final long untilNs) throws IOException
        {
            final long leftNs = untilNs - System.nanoTime();
            final long leftMs = TimeUnit.NANOSECONDS.toMillis(leftNs);
            final int ready = leftMs >= 1 ? selector.select(Math.min(leftMs, 10)) : selector.selectNow();
            if (ready > 0)
            {
                final Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
                while (keys.hasNext())
                {
                    final SelectionKey key = keys.next();
                    keys.remove();
                    handle(key);
                }
            }
            checkTimeouts();
        }

        private void handle(final SelectionKey key) throws IOException
        {
            final Conn conn = (Conn)key.attachment();
            try
            {
                if (!conn.connected && key.isConnectable())
                {
                    if (conn.channel.finishConnect())
                    {
                        connected(conn);
                    }
                }
                else if (conn.connected && key.isReadable())
                {
                    readBuffer.clear();
                    final int n = conn.channel.read(readBuffer);
                    if (n < 0)
                    {
                        fail(conn, "eof");
                        return;
                    }
                    conn.received += n;
                    if (conn.received >= request.limit())
                    {
                        requestLatency.recordValue(Math.min(System.nanoTime() - conn.originNs,
                            LoadResult.HIGHEST_TRACKABLE_NS));
                        completed++;
                        finish(conn);
                    }
                }
            }
            catch (final IOException e)
            {
                fail(conn, ConnectStorm.classify(e));
            }
        }

        private void connected(final Conn conn) throws IOException
        {
            conn.connected = true;
            final long latencyNs = System.nanoTime() - conn.originNs;
            connectLatency.recordValue(Math.min(latencyNs, LoadResult.HIGHEST_TRACKABLE_NS));
            if (latencyNs >= stallNs)
            {
                stalls++;
            }
            if (latencyNs >= slowNs)
            {
                slow++;
            }
            final ByteBuffer r = request.duplicate();
            conn.channel.write(r);
            if (r.hasRemaining())
            {
                fail(conn, "short_write");
                return;
            }
            conn.channel.keyFor(selector).interestOps(SelectionKey.OP_READ);
        }

        private void checkTimeouts() throws IOException
        {
            final long nowNs = System.nanoTime();
            if (nowNs < nextTimeoutCheckNs || inFlight.isEmpty())
            {
                return;
            }
            nextTimeoutCheckNs = nowNs + TimeUnit.MILLISECONDS.toNanos(10);
            for (int i = inFlight.size() - 1; i >= 0; i--)
            {
                final Conn conn = inFlight.get(i);
                if (nowNs - conn.originNs > timeoutNs)
                {
                    fail(conn, "timeout");
                }
            }
        }

        private void fail(final Conn conn, final String reason) throws IOException
        {
            errors.merge(reason, 1L, Long::sum);
            errorCount++;
            finish(conn);
        }

        /** Closes with RST; in closed-loop mode the main loop then starts the replacement connection. */
        private void finish(final Conn conn) throws IOException
        {
            inFlight.remove(conn);
            try
            {
                conn.channel.setOption(StandardSocketOptions.SO_LINGER, 0);
            }
            catch (final IOException ignored)
            {
                // never connected
            }
            try
            {
                conn.channel.close();
            }
            catch (final IOException ignored)
            {
                // closing
            }
            if (!open)
            {
                replacements++;
            }
        }
    }

    static final class Options
    {
        @Mixin
        ClientOptions client = new ClientOptions();

        @Mixin
        TcpClientOptions tcp = new TcpClientOptions();

        @Option(names = "--mode", defaultValue = "closed", description = "closed: --concurrency connections in " +
            "flight; open: started at --rate whatever happens to earlier ones.")
        String mode;

        @Option(names = "--concurrency", defaultValue = "16", description = "Connections in flight (closed mode).")
        int concurrency;

        @Option(names = "--rate", defaultValue = "2000", description = "Connections started per second (open mode).")
        double rate;

        @Option(names = "--duration-s", defaultValue = "5", description = "How long.")
        double durationS;

        @Option(names = "--request-bytes", defaultValue = "64", description = "Bytes sent and echoed, 1..1024.")
        int requestBytes;

        @Option(names = "--slow-ms", defaultValue = "200", description = "A connection slower than this is slow.")
        long slowMs;

        @Option(names = "--source-ports", defaultValue = "0-0", description = "LOW-HIGH, 0-0 for the kernel's choice.")
        String sourcePorts;

        @Option(names = "--warmup-s", defaultValue = "1.0", description = "Seconds on loopback first, for the JIT.")
        double warmupS;
    }
}
