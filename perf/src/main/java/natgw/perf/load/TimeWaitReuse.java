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
import org.HdrHistogram.Histogram;
import org.HdrHistogram.SingleWriterRecorder;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Clients of a server that closes first ({@link EchoServer} {@code --close-first-port}): one thread per source address
 * connects in a loop for {@code --duration-s}, sends one byte, reads until the server closes (its answer: the port
 * it saw the connection come from, behind a NAT the translated one), then closes too. The
 * server holds each 4-tuple in TIME_WAIT for 60 s; behind a NAT with a small port pool, new connections come back on
 * those 4-tuples, and the server takes such a SYN for a new connection only if it passes its TIME_WAIT checks (its
 * timestamp not older than the last one seen, RFC 7323's PAWS; else its sequence past the old connection's). A SYN
 * that fails them is not answered with a SYN-ACK, and the client sends it again 1 s later: a stall.
 * <p>
 * Connect latency is from just before the blocking connect() to its return; a connect of {@code --stall-ms} or more
 * is a stall, and one that times out ({@code --timeout-ms}) is a stall recorded at the timeout as well as an error.
 * The lowest and highest port the server saw are counts of the result ({@code server_seen_port_min}, {@code _max}).
 * Prints {@code progress completed=N stalls=S errors=E} every 500 ms. Before the run, the same loop runs
 * {@code --warmup-s} on loopback against an in-process server, so that the JIT has compiled it.
 *
 * <pre>
 * TimeWaitReuse --server 10.77.2.2 --port 7001 --sources 10.77.1.2,10.77.1.3 --duration-s 10 --out tw.json
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
            run(local, loopback, TimeUnit.MILLISECONDS.toNanos((long)(options.warmupS * 1000)), timeoutMs, stallNs, false);
        }

        final long startNs = System.nanoTime();
        final List<Client> clients = run(new InetSocketAddress(options.client.server, options.tcp.port),
            options.client.sources, TimeUnit.MILLISECONDS.toNanos((long)(options.durationS * 1000)), timeoutMs, stallNs, true);
        final double durationS = (System.nanoTime() - startNs) / 1e9;

        final Histogram connect = LoadResult.newHistogram();
        long attempted = 0;
        long completed = 0;
        long stalls = 0;
        int portMin = Integer.MAX_VALUE;
        int portMax = -1;
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
            portMin = Math.min(portMin, client.portMin);
            portMax = Math.max(portMax, client.portMax);
            client.errors.forEach((k, v) -> errors.merge(k, v, Long::sum));
        }
        final LoadResult result = new LoadResult()
            .histogram("connect", connect)
            .count("attempted", attempted)
            .count("completed", completed)
            .count("stalls", stalls)
            .count("errors", errors.values().stream().mapToLong(Long::longValue).sum())
            .value("duration_s", durationS)
            .value("conn_per_s", completed / durationS);
        errors.forEach((k, v) -> result.count("error_" + k, v));
        if (portMax >= 0)
        {
            result.count("server_seen_port_min", portMin).count("server_seen_port_max", portMax);
        }
        result.write(options.client.out);
        System.out.println("done attempted=" + attempted + " completed=" + completed + " stalls=" + stalls + " errors=" + errors);
    }

    /** One client per source for {@code durationNs}; with {@code report}, progress lines while they run. */
    static List<Client> run(final InetSocketAddress server, final List<String> sources, final long durationNs,
        final int timeoutMs, final long stallNs, final boolean report) throws InterruptedException
    {
        final long endNs = System.nanoTime() + durationNs;
        final List<Client> clients = new ArrayList<>();
        for (final String source : sources)
        {
            clients.add(new Client(server, new InetSocketAddress(source, 0), endNs, timeoutMs, stallNs));
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
        private final long endNs;
        private final int timeoutMs;
        private final long stallNs;
        final SingleWriterRecorder connectLatency = new SingleWriterRecorder(
            LoadResult.HIGHEST_TRACKABLE_NS, LoadResult.SIGNIFICANT_DIGITS);
        final Map<String, Long> errors = new LinkedHashMap<>();
        volatile long completed;
        volatile long stalls;
        volatile long errorCount;
        long attempted;
        int portMin = Integer.MAX_VALUE;
        int portMax = -1;
        Throwable failure;

        Client(final InetSocketAddress server, final InetSocketAddress source, final long endNs, final int timeoutMs,
            final long stallNs)
        {
            super("time-wait-" + source.getHostString());
            this.server = server;
            this.source = source;
            this.endNs = endNs;
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
                while (System.nanoTime() < endNs)
                {
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
                if (low >= 0)
                {
                    final int port = high << 8 | low;
                    portMin = Math.min(portMin, port);
                    portMax = Math.max(portMax, port);
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
    }
}
