package natgw.perf.load;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
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
 * Incident 1's storm: K client addresses connect to one server port from the SAME source port at the same
 * instant, round after round (a fresh source port each round). Run inside the client namespace by the harness.
 *
 * <p>Each of T threads owns K/T of the addresses. Rounds are on a fixed schedule ({@code startNs + r * interval});
 * every thread spins to the round's instant, then issues its non-blocking connects back to back, so SYNs of one
 * round leave on all CPUs within microseconds of each other, as in the incident (collisions within 0-2 µs).
 *
 * <p>Connect latency is measured from just before {@code connect()} to the moment the thread sees the connection
 * established. Between two connects the thread polls its selector without waiting, so a handshake completed
 * within the connect() call (the kernel paths over veth often do it inline) is timed at once; a completion that
 * arrives while the thread is inside a later connect() is timed when that call returns. Each connection then sends one byte, waits
 * for the echo (proving both directions are translated), and is closed with RST (SO_LINGER 0) so that no
 * TIME_WAIT is left on either host. A connect taking 1 s or more is a stall: a dropped SYN, retransmitted.
 *
 * <pre>
 * ConnectStorm --server 10.77.2.2 --port 7000 --sources 10.77.1.2,10.77.1.3 --base-port 20000 \
 *     --first-round 0 --rounds 100 --interval-ms 20 --threads 2 --timeout-ms 8000 --out storm.json
 * </pre>
 * Prints {@code progress rounds=R completed=N stalls=S errors=E} lines while it runs, with the count and the p50 of the
 * connects completed since the line before ({@code interval_n}, {@code interval_p50_us}).
 *
 * <p>Before the storm, the same code runs {@code --warmup-rounds} rounds on loopback (sources 127.0.0.2...,
 * an in-process echo server) so that the JIT has compiled it: nothing of the warm-up crosses the gateway.
 */
public final class ConnectStorm
{
    static final long SPIN_NS = TimeUnit.MICROSECONDS.toNanos(300);
    static final int WARMUP_BASE_PORT = 40000;

    public static void main(final String[] argv) throws Exception
    {
        final Options options = ServerOptions.parse(new Options(), argv);
        final InetSocketAddress server = new InetSocketAddress(options.client.server, options.tcp.port);
        final List<String> sources = options.client.sources;
        final int threads = Math.max(1, Math.min(options.tcp.threads, sources.size()));
        final int rounds = options.rounds;
        final long intervalNs = TimeUnit.MICROSECONDS.toNanos((long)(options.intervalMs * 1000));
        final long stallNs = TimeUnit.MILLISECONDS.toNanos(options.client.stallMs);
        final long timeoutNs = TimeUnit.MILLISECONDS.toNanos(options.tcp.timeoutMs);
        final int basePort = options.basePort;
        final int portSpan = options.portSpan;
        final long firstRound = options.firstRound;
        final Path out = options.client.out;

        final int warmupRounds = options.warmupRounds;
        if (warmupRounds > 0)
        {
            final InetSocketAddress local = new InetSocketAddress("127.0.0.1", EchoServer.startInProcess("127.0.0.1"));
            final List<String> loopback = new ArrayList<>();
            for (int i = 0; i < sources.size(); i++)
            {
                loopback.add("127.0.0." + (2 + i % 250));
            }
            final List<Worker> warmup = workers(local, loopback, threads, WARMUP_BASE_PORT, 1000, 0, warmupRounds,
                System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(50), TimeUnit.MILLISECONDS.toNanos(2), timeoutNs,
                stallNs);
            warmup.forEach(Thread::start);
            for (final Worker worker : warmup)
            {
                worker.join();
            }
        }

        final long startNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
        final List<Worker> workers = workers(server, sources, threads, basePort, portSpan, firstRound, rounds, startNs,
            intervalNs, timeoutNs, stallNs);
        for (final Worker worker : workers)
        {
            worker.start();
        }
        final Histogram connect = LoadResult.newHistogram();
        final Histogram interval = LoadResult.newHistogram();
        boolean running = true;
        while (running)
        {
            running = false;
            for (final Worker worker : workers)
            {
                worker.join(250);
                running |= worker.isAlive();
            }
            long completed = 0;
            long stalls = 0;
            long errors = 0;
            int roundsDone = Integer.MAX_VALUE;
            for (final Worker worker : workers)
            {
                completed += worker.completed;
                stalls += worker.stalls;
                errors += worker.errorCount;
                roundsDone = Math.min(roundsDone, worker.roundsIssued);
            }
            // the connects completed since the last line: how latency moves through the run (a start-up transient, say)
            interval.reset();
            for (final Worker worker : workers)
            {
                final Histogram latest = worker.connectLatency.getIntervalHistogram();
                interval.add(latest);
                connect.add(latest);
            }
            System.out.println("progress rounds=" + roundsDone + " completed=" + completed + " stalls=" + stalls +
                " errors=" + errors + (interval.getTotalCount() > 0 ?
                " interval_n=" + interval.getTotalCount() + " interval_p50_us=" + interval.getValueAtPercentile(50) / 1000 : ""));
        }

        final LoadResult result = new LoadResult();
        long attempted = 0;
        long completed = 0;
        long stalls = 0;
        final Map<String, Long> errors = new LinkedHashMap<>();
        for (final Worker worker : workers)
        {
            if (worker.failure != null)
            {
                throw new IllegalStateException("storm thread failed", worker.failure);
            }
            connect.add(worker.connectLatency.getIntervalHistogram());
            attempted += worker.attempted;
            completed += worker.completed;
            stalls += worker.stalls;
            worker.errors.forEach((k, v) -> errors.merge(k, v, Long::sum));
        }
        result.histogram("connect", connect)
            .count("attempted", attempted)
            .count("completed", completed)
            .count("stalls", stalls)
            .count("errors", errors.values().stream().mapToLong(Long::longValue).sum())
            .value("duration_s", (System.nanoTime() - startNs) / 1e9);
        errors.forEach((k, v) -> result.count("error_" + k, v));
        result.write(out);
        System.out.println("done attempted=" + attempted + " completed=" + completed + " stalls=" + stalls +
            " errors=" + errors);
    }

    static List<Worker> workers(final InetSocketAddress server, final List<String> sources, final int threads,
        final int basePort, final int portSpan, final long firstRound, final int rounds, final long startNs,
        final long intervalNs, final long timeoutNs, final long stallNs)
    {
        final List<Worker> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++)
        {
            final List<String> mine = new ArrayList<>();
            for (int i = t; i < sources.size(); i += threads)
            {
                mine.add(sources.get(i));
            }
            final int[] ports = new int[rounds];
            for (int r = 0; r < rounds; r++)
            {
                ports[r] = basePort + (int)((firstRound + r) % portSpan);
            }
            workers.add(new Worker(t, server, mine, ports, startNs, intervalNs, timeoutNs, stallNs));
        }
        return workers;
    }

    /** One connection of the storm; its state follows the selector interest: CONNECT, then READ. */
    static final class Conn
    {
        final SocketChannel channel;
        final long startNs;
        boolean connected;

        Conn(final SocketChannel channel, final long startNs)
        {
            this.channel = channel;
            this.startNs = startNs;
        }
    }

    static final class Worker extends Thread
    {
        private final InetSocketAddress server;
        private final List<InetSocketAddress> sourcesByPort = new ArrayList<>();
        private final List<String> sources;
        private final int[] ports;
        private final long startNs;
        private final long intervalNs;
        private final long timeoutNs;
        private final long stallNs;
        private final SingleWriterRecorder connectLatency = new SingleWriterRecorder(
            LoadResult.HIGHEST_TRACKABLE_NS, LoadResult.SIGNIFICANT_DIGITS);
        private final Map<String, Long> errors = new LinkedHashMap<>();
        private final List<Conn> inFlight = new ArrayList<>();
        private final ByteBuffer one = ByteBuffer.allocateDirect(1);
        private final ByteBuffer readBuffer = ByteBuffer.allocateDirect(64);
        private Selector selector;
        private long nextTimeoutCheckNs;

        volatile long completed;
        volatile long stalls;
        volatile long errorCount;
        volatile int roundsIssued;
        long attempted;
        Throwable failure;

        Worker(final int index, final InetSocketAddress server, final List<String> sources, final int[] ports,
            final long startNs, final long intervalNs, final long timeoutNs, final long stallNs)
        {
            super("storm-" + index);
            this.server = server;
            this.sources = sources;
            this.ports = ports;
            this.startNs = startNs;
            this.intervalNs = intervalNs;
            this.timeoutNs = timeoutNs;
            this.stallNs = stallNs;
        }

        @Override
        public void run()
        {
            try (Selector sel = Selector.open())
            {
                selector = sel;
                for (int r = 0; r < ports.length; r++)
                {
                    final long atNs = startNs + r * intervalNs;
                    pump(atNs - SPIN_NS);
                    sourcesByPort.clear();
                    for (final String source : sources)
                    {
                        sourcesByPort.add(new InetSocketAddress(source, ports[r]));
                    }
                    while (System.nanoTime() < atNs)
                    {
                        Thread.onSpinWait();
                    }
                    for (int i = 0; i < sourcesByPort.size(); i++)
                    {
                        open(sourcesByPort.get(i));
                        harvest();
                    }
                    roundsIssued = r + 1;
                }
                final long drainDeadlineNs = System.nanoTime() + timeoutNs + TimeUnit.MILLISECONDS.toNanos(500);
                while (!inFlight.isEmpty() && System.nanoTime() < drainDeadlineNs)
                {
                    pump(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(50));
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

        private void open(final InetSocketAddress source) throws IOException
        {
            final SocketChannel channel = SocketChannel.open();
            attempted++;
            try
            {
                channel.configureBlocking(false);
                channel.setOption(StandardSocketOptions.SO_REUSEADDR, true);
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                channel.bind(source);
            }
            catch (final IOException e)
            {
                channel.close();
                error("bind");
                return;
            }
            final Conn conn = new Conn(channel, System.nanoTime());
            inFlight.add(conn);
            try
            {
                if (channel.connect(server))
                {
                    channel.register(selector, 0, conn);
                    connected(conn, System.nanoTime());
                }
                else
                {
                    channel.register(selector, SelectionKey.OP_CONNECT, conn);
                }
            }
            catch (final IOException e)
            {
                fail(conn, classify(e));
            }
        }

        /**
         * Handles what is ready now, between two connects of a round: a connection the kernel established within
         * the connect() call itself is timed right, not after the rest of the round has been issued.
         */
        private void harvest() throws IOException
        {
            if (selector.selectNow() > 0)
            {
                final Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
                while (keys.hasNext())
                {
                    final SelectionKey key = keys.next();
                    keys.remove();
                    handle(key);
                }
            }
        }

        /** Handles selector events until {@code untilNs}. */
        private void pump(final long untilNs) throws IOException
        {
            while (true)
            {
                final long nowNs = System.nanoTime();
                final long leftNs = untilNs - nowNs;
                if (leftNs <= 0)
                {
                    return;
                }
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
                if (leftMs < 1)
                {
                    return;
                }
            }
        }

        private void handle(final SelectionKey key)
        {
            final Conn conn = (Conn)key.attachment();
            try
            {
                if (!conn.connected && key.isConnectable())
                {
                    if (conn.channel.finishConnect())
                    {
                        connected(conn, System.nanoTime());
                    }
                }
                else if (conn.connected && key.isReadable())
                {
                    readBuffer.clear();
                    final int n = conn.channel.read(readBuffer);
                    if (n > 0)
                    {
                        completed++;
                        closeWithReset(conn);
                    }
                    else if (n < 0)
                    {
                        fail(conn, "eof");
                    }
                }
            }
            catch (final IOException e)
            {
                fail(conn, classify(e));
            }
        }

        private void connected(final Conn conn, final long nowNs) throws IOException
        {
            conn.connected = true;
            final long latencyNs = nowNs - conn.startNs;
            connectLatency.recordValue(Math.min(latencyNs, LoadResult.HIGHEST_TRACKABLE_NS));
            if (latencyNs >= stallNs)
            {
                stalls++;
            }
            one.clear();
            one.put((byte)'s').flip();
            conn.channel.write(one);
            conn.channel.keyFor(selector).interestOps(SelectionKey.OP_READ);
        }

        private void checkTimeouts()
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
                if (nowNs - conn.startNs > timeoutNs)
                {
                    fail(conn, "timeout");
                }
            }
        }

        private void fail(final Conn conn, final String reason)
        {
            error(reason);
            closeWithReset(conn);
        }

        private void error(final String reason)
        {
            errors.merge(reason, 1L, Long::sum);
            errorCount++;
        }

        private void closeWithReset(final Conn conn)
        {
            inFlight.remove(conn);
            try
            {
                if (conn.channel.isOpen())
                {
                    conn.channel.setOption(StandardSocketOptions.SO_LINGER, 0);
                }
            }
            catch (final IOException ignored)
            {
                // not connected: a plain close is all there is
            }
            try
            {
                conn.channel.close();
            }
            catch (final IOException ignored)
            {
                // closing
            }
        }
    }

    static String classify(final IOException e)
    {
        if (e instanceof NoRouteToHostException)
        {
            return "no_route";
        }
        if (e instanceof ConnectException)
        {
            final String message = String.valueOf(e.getMessage());
            return message.contains("refused") ? "refused" : message.contains("timed out") ? "timeout" : "connect";
        }
        final String message = String.valueOf(e.getMessage());
        if (message.contains("reset"))
        {
            return "reset";
        }
        return "io";
    }

    static final class Options
    {
        @Mixin
        ClientOptions client = new ClientOptions();

        @Mixin
        TcpClientOptions tcp = new TcpClientOptions();

        @Option(names = "--rounds", defaultValue = "100",
            description = "Rounds; in each every source connects once.")
        int rounds;

        @Option(names = "--interval-ms", defaultValue = "20", description = "Pause between rounds.")
        double intervalMs;

        @Option(names = "--base-port", defaultValue = "20000", description = "First source port.")
        int basePort;

        @Option(names = "--port-span", defaultValue = "20000",
            description = "Source ports cycled through, from --base-port.")
        int portSpan;

        @Option(names = "--first-round", defaultValue = "0",
            description = "Index of the first round; each round has its own source port.")
        long firstRound;

        @Option(names = "--warmup-rounds", defaultValue = "50", description = "Rounds on loopback first, for the JIT.")
        int warmupRounds;
    }
}
