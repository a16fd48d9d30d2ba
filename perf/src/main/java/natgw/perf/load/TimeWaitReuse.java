package natgw.perf.load;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.SingleWriterRecorder;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Clients of a server that closes first ({@link EchoServer} {@code --close-first-port}): one thread per source address
 * connects for {@code --duration-s}, each connection sending one byte and reading until the server closes (its
 * answer: the port it saw the connection come from, behind a NAT the translated one), then closing too. The server
 * holds each 4-tuple in TIME_WAIT for 60 s; behind a NAT with a small port pool, new connections come back on
 * those 4-tuples, and the server takes such a SYN for a new connection only if it passes its TIME_WAIT checks (its
 * timestamp not older than the last one seen, RFC 7323's PAWS; else its sequence past the old connection's). A SYN
 * that fails them is not answered with a SYN-ACK, and the client sends it again 1 s later: a stall.
 * <p>
 * With {@code --rate-per-source R} each source starts a connection every 1/R s, on schedule, the sources' schedules
 * spread evenly over the interval (no bursts); a source still in a connection when its next start is due (a stall)
 * skips the starts it missed ({@code missed_starts}), so a path with stalls carries fewer connections in the same
 * time and the others are timed at the same pace on every path. With 0 each source connects back to back.
 * <p>
 * Connect latency is from just before the blocking connect() to its return; a connect of {@code --stall-ms} or more
 * is a stall, and one that times out ({@code --timeout-ms}) is a stall recorded at the timeout as well as an error.
 * With {@code --expect-ports LOW-HIGH}, {@code ports_outside} counts the connections whose port, as the server saw it,
 * was outside that range (the NAT's pool), or that the server did not say. Prints {@code progress completed=N stalls=S errors=E} every 500 ms. Before the run, the same loop runs
 * {@code --warmup-s} on loopback against an in-process server, so that the JIT has compiled it.
 *
 * <pre>
 * TimeWaitReuse --server 10.77.2.2 --port 7001 --sources 10.77.1.2,10.77.1.3 --duration-s 10 --rate-per-source 125 \
 *     --out tw.json
 * </pre>
 */
public final class TimeWaitReuse
{
    public static void main(final String[] argv) throws Exception
    {
        final Options options = ServerOptions.parse(new Options(), argv);
        final long stallNs = TimeUnit.MILLISECONDS.toNanos(options.client.stallMs);
        final int timeoutMs = (int)options.tcp.timeoutMs;

        if (options.warmupS > 0)
        {
            final InetSocketAddress local = new InetSocketAddress("127.0.0.1", EchoServer.startInProcess("127.0.0.1", true));
            final List<String> loopback = new ArrayList<>();
            for (int i = 0; i < options.client.sources.size(); i++)
            {
                loopback.add("127.0.0." + (2 + i % 250));
            }
            run(local, loopback, TimeUnit.MILLISECONDS.toNanos((long)(options.warmupS * 1000)), 0, timeoutMs, stallNs, false,
                null);
        }

        final long startNs = System.nanoTime();
        final List<Client> clients = run(new InetSocketAddress(options.client.server, options.tcp.port),
            options.client.sources, TimeUnit.MILLISECONDS.toNanos((long)(options.durationS * 1000)),
            options.ratePerSource > 0 ? (long)(1e9 / options.ratePerSource) : 0, timeoutMs, stallNs, true,
            options.expectPorts == null ? null : ShortConnections.portRange("--expect-ports", options.expectPorts));
        final double durationS = (System.nanoTime() - startNs) / 1e9;

        final Histogram connect = LoadResult.newHistogram();
        long attempted = 0;
        long completed = 0;
        long stalls = 0;
        long missed = 0;
        long outside = 0;
        final Map<String, Long> errors = new LinkedHashMap<>();
        for (final Client client : clients)
        {
            if (client.failure != null)
            {
                throw new IllegalStateException(client.getName() + " failed", client.failure);
            }
            connect.add(client.connectLatency.getIntervalHistogram());
            attempted += client.attempted;
            completed += client.completed;
            stalls += client.stalls;
            missed += client.missed;
            outside += client.outside;
            client.errors.forEach((k, v) -> errors.merge(k, v, Long::sum));
        }
        final LoadResult result = new LoadResult()
            .histogram("connect", connect)
            .count("attempted", attempted)
            .count("completed", completed)
            .count("stalls", stalls)
            .count("missed_starts", missed)
            .count("errors", errors.values().stream().mapToLong(Long::longValue).sum())
            .value("duration_s", durationS)
            .value("conn_per_s", completed / durationS);
        errors.forEach((k, v) -> result.count("error_" + k, v));
        if (options.expectPorts != null)
        {
            result.count("ports_outside", outside);
        }
        result.write(options.client.out);
        System.out.println("done attempted=" + attempted + " completed=" + completed + " stalls=" + stalls + " errors=" + errors);
    }

    /**
     * One client per source for {@code durationNs}, each starting a connection every {@code intervalNs} (0: back to
     * back) and counting the ports the server says outside {@code ports} ({low, high}; null: not checked); with
     * {@code report}, progress lines while they run.
     */
    static List<Client> run(final InetSocketAddress server, final List<String> sources, final long durationNs,
        final long intervalNs, final int timeoutMs, final long stallNs, final boolean report, final int[] ports)
        throws InterruptedException
    {
        final long startNs = System.nanoTime();
        final List<Client> clients = new ArrayList<>();
        for (int i = 0; i < sources.size(); i++)
        {
            // source i's schedule is offset by i / sources of the interval: the starts spread, never all at once
            clients.add(new Client(server, new InetSocketAddress(sources.get(i), 0), startNs + intervalNs * i / sources.size(),
                startNs + durationNs, intervalNs, timeoutMs, stallNs, ports));
        }
        clients.forEach(Thread::start);
        boolean running = true;
        while (running)
        {
            running = false;
            for (final Client client : clients)
            {
                client.join(500 / clients.size() + 1);
                running |= client.isAlive();
            }
            if (report)
            {
                long completed = 0;
                long stalls = 0;
                long errors = 0;
                for (final Client client : clients)
                {
                    completed += client.completed;
                    stalls += client.stalls;
                    errors += client.errorCount;
                }
                System.out.println("progress completed=" + completed + " stalls=" + stalls + " errors=" + errors);
            }
        }
        return clients;
    }

    static final class Client extends Thread
    {
        private final InetSocketAddress server;
        private final InetSocketAddress source;
        private final long startNs;
        private final long endNs;
        private final long intervalNs;
        private final int timeoutMs;
        private final long stallNs;
        private final int[] ports;
        final SingleWriterRecorder connectLatency = new SingleWriterRecorder(
            LoadResult.HIGHEST_TRACKABLE_NS, LoadResult.SIGNIFICANT_DIGITS);
        final Map<String, Long> errors = new LinkedHashMap<>();
        volatile long completed;
        volatile long stalls;
        volatile long errorCount;
        long attempted;
        long missed;
        long outside;
        Throwable failure;

        Client(final InetSocketAddress server, final InetSocketAddress source, final long startNs, final long endNs,
            final long intervalNs, final int timeoutMs, final long stallNs, final int[] ports)
        {
            super("time-wait-" + source.getHostString());
            this.ports = ports;
            this.server = server;
            this.source = source;
            this.startNs = startNs;
            this.endNs = endNs;
            this.intervalNs = intervalNs;
            this.timeoutMs = timeoutMs;
            this.stallNs = stallNs;
        }

        private void connected(final long connectNs)
        {
            connectLatency.recordValue(Math.min(connectNs, LoadResult.HIGHEST_TRACKABLE_NS));
            if (connectNs >= stallNs)
            {
                stalls++;
            }
        }

        @Override
        public void run()
        {
            try
            {
                long nextNs = startNs;
                for (long nowNs = System.nanoTime(); nowNs < endNs; nowNs = System.nanoTime())
                {
                    if (intervalNs > 0)
                    {
                        if (nowNs < nextNs)
                        {
                            LockSupport.parkNanos(Math.min(nextNs, endNs) - nowNs);
                            continue;
                        }
                        nextNs += intervalNs;
                        while (nextNs <= nowNs)
                        {
                            nextNs += intervalNs; // a start this source was too busy for: skipped, not bunched
                            missed++;
                        }
                    }
                    once();
                }
            }
            catch (final Throwable t)
            {
                failure = t;
            }
        }

        private void once()
        {
            attempted++;
            try (Socket socket = new Socket())
            {
                socket.setReuseAddress(true);
                socket.bind(source);
                final long startNs = System.nanoTime();
                try
                {
                    socket.connect(server, timeoutMs);
                }
                catch (final SocketTimeoutException e)
                {
                    connected(System.nanoTime() - startNs); // the worst stall of all: at least this long
                    throw e;
                }
                connected(System.nanoTime() - startNs);
                socket.setSoTimeout(timeoutMs);
                socket.getOutputStream().write('q');
                final InputStream in = socket.getInputStream();
                final int high = in.read();
                final int low = in.read();
                final int port = high << 8 | low;
                if (ports != null && (low < 0 || port < ports[0] || port > ports[1]))
                {
                    outside++; // or no port said at all
                }
                while (in.read() >= 0)
                {
                    // to the server's close: it closes first
                }
                completed++;
            }
            catch (final IOException e)
            {
                errors.merge(e.getClass().getSimpleName(), 1L, Long::sum);
                errorCount++;
            }
        }
    }

    static final class Options
    {
        @Mixin
        ClientOptions client = new ClientOptions();

        @Mixin
        TcpClientOptions tcp = new TcpClientOptions();

        @Option(names = "--duration-s", defaultValue = "10", description = "Seconds of connections.")
        double durationS;

        @Option(names = "--warmup-s", defaultValue = "1", description = "Seconds of the same loop on loopback first, for the JIT.")
        double warmupS;

        @Option(names = "--expect-ports", description = "The NAT's pool, LOW-HIGH: count the connections from outside it.")
        String expectPorts;

        @Option(names = "--rate-per-source", defaultValue = "0",
            description = "Connections a second each source starts on schedule; 0 for back to back.")
        double ratePerSource;
    }
}
