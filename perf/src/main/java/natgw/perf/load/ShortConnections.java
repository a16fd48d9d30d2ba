package natgw.perf.load;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.SelectStrategy;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.InternetProtocolFamily;
import io.netty.util.concurrent.DefaultThreadFactory;
import natgw.perf.sys.Sleep;
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
            warmup.forEach(Worker::start);
            for (final Worker worker : warmup)
            {
                worker.await(Long.MAX_VALUE);
            }
        }

        // the settle: the same load through the path first, not recorded (the path's first seconds: a gateway's JIT)
        final long startNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
        final long measureFromNs = startNs + (long)(Math.max(0, options.settleS) * 1e9);
        System.out.println("measuring");
        System.out.flush();
        final long endNs = measureFromNs + durationNs;
        final List<Worker> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++)
        {
            final int users = concurrency / threads + (t < concurrency % threads ? 1 : 0);
            workers.add(new Worker(t, server, sources, open, users, startNs + t * (long)(1e9 / rate), periodNs,
                endNs, timeoutNs, stallNs, slowNs, requestBytes, threadPorts(portRange, t, threads))
                .measureFrom(measureFromNs));
        }
        final MachineCpu[] machine = new MachineCpu[2]; // at the measurement's start and end
        final Thread machineSampler = new Thread(() -> sampleMachine(machine, measureFromNs, endNs), "machine-cpu");
        machineSampler.setDaemon(true);
        machineSampler.start();
        workers.forEach(Worker::start);
        boolean running = true;
        while (running)
        {
            running = false;
            for (final Worker worker : workers)
            {
                running |= !worker.await(500);
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
        final Histogram lateness = LoadResult.newHistogram();
        final Map<String, Long> errors = new LinkedHashMap<>();
        long completed = 0;
        long attempted = 0;
        long stalls = 0;
        long slow = 0;
        long settleErrors = 0;
        long loaderCpuNs = 0;
        for (final Worker worker : workers)
        {
            loaderCpuNs += worker.cpuNs - worker.cpuAtMeasureNs;
            settleErrors += worker.settleErrors;
            if (worker.failure != null)
            {
                throw new IllegalStateException("load thread failed", worker.failure);
            }
            connect.add(worker.connectLatency.getIntervalHistogram());
            request.add(worker.requestLatency.getIntervalHistogram());
            lateness.add(worker.startLateness.getIntervalHistogram());
            completed += worker.completed;
            attempted += worker.attempted;
            stalls += worker.stalls;
            slow += worker.slow;
            worker.errors.forEach((k, v) -> errors.merge(k, v, Long::sum));
        }
        final double seconds = durationNs / 1e9;
        machineSampler.join();
        if (machine[1] == null)
        {
            throw new IllegalStateException("could not read the machine's CPU time (/proc/stat) at the start and the end of the measurement");
        }
        final LoadResult result = new LoadResult()
            .histogram("connect", connect)
            .histogram("request", request)
            .histogram("start_lateness", lateness)
            .count("attempted", attempted)
            .count("completed", completed)
            .count("stalls", stalls)
            .count("slow", slow)
            .count("errors", errors.values().stream().mapToLong(Long::longValue).sum())
            .count("settle_errors", settleErrors)
            .value("duration_s", seconds)
            .value("loader_cpu_share", loaderCpuNs / 1e9 / seconds / threads)
            .value("conn_per_s", completed / seconds)
            .value("machine_cpu_us_per_conn", machine[1].busyCpuSecondsSince(machine[0], seconds) * 1e6 / Math.max(1, completed));
        if (open)
        {
            result.value("target_conn_per_s", rate);
        }
        errors.forEach((k, v) -> result.count("error_" + k, v));
        result.write(out);
        System.out.println("done completed=" + completed + " errors=" + errors);
    }

    /** The machine's CPU time at {@code fromNs} and at {@code toNs} into {@code into}; leaves null what it could not read. */
    private static void sampleMachine(final MachineCpu[] into, final long fromNs, final long toNs)
    {
        try
        {
            Sleep.until(fromNs);
            into[0] = MachineCpu.read();
            Sleep.until(toNs);
            into[1] = MachineCpu.read();
        }
        catch (final IOException | InterruptedException ex)
        {
            System.err.println("machine CPU not sampled: " + ex);
        }
    }

    /** {@code LO-HI} to {lo, hi}; {@code 0-0} means ephemeral ports. */
    static int[] portRange(final String text)
    {
        return portRange("--source-ports", text);
    }

    /** {@code LO-HI} as {lo, hi}; {@code 0-0} for none; anything else out of 1-65535 refused, naming {@code flag}. */
    static int[] portRange(final String flag, final String text)
    {
        final String[] parts = text.split("-");
        final int lo = Integer.parseInt(parts[0].strip());
        final int hi = Integer.parseInt(parts[parts.length - 1].strip());
        if (lo < 0 || hi > 65535 || hi < lo || (lo == 0) != (hi == 0))
        {
            throw new IllegalArgumentException(flag + " must be LO-HI within 1-65535, not " + text);
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

    /**
     * One load thread: a Netty epoll event loop. It sleeps in epoll until {@link #LEAD_NS} before the next start
     * (epoll_pwait2 takes nanoseconds; java.nio's select whole milliseconds, through the rest of which the loop
     * used to spin, keeping 35-45 % of a CPU busy per thread that the path under test shares), then polls epoll, handling
     * what comes, until the start is due: a thread woken by its timer on this kind of VM runs 90 to 250 us after
     * the deadline, and a start that late would count as connect time.
     */
    static final class Worker
    {
        /** How long before a start the loop stops sleeping and polls. */
        static final long LEAD_NS = TimeUnit.MICROSECONDS.toNanos(250);

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
        private final int requestBytes;
        private final ByteBuf request;
        private final EpollEventLoopGroup group;
        private final EventLoop loop;
        private final Bootstrap bootstrap;
        private final SingleWriterRecorder connectLatency = new SingleWriterRecorder(
            LoadResult.HIGHEST_TRACKABLE_NS, LoadResult.SIGNIFICANT_DIGITS);
        private final SingleWriterRecorder requestLatency = new SingleWriterRecorder(
            LoadResult.HIGHEST_TRACKABLE_NS, LoadResult.SIGNIFICANT_DIGITS);
        private final SingleWriterRecorder startLateness = new SingleWriterRecorder(
            LoadResult.HIGHEST_TRACKABLE_NS, LoadResult.SIGNIFICANT_DIGITS);
        private final Map<String, Long> errors = new LinkedHashMap<>();
        private final List<Conn> inFlight = new ArrayList<>();
        private final CountDownLatch done = new CountDownLatch(1);
        private int nextSource;
        private long nextPair;
        private long nextIntendedNs;
        /** Connections started before this are the settle's: they load the path, nothing of them is recorded. */
        private long measureFromNs = Long.MIN_VALUE;
        /** From the lead before the open loop's next start until it is made: the loop polls rather than sleeps. */
        private boolean polling;
        private boolean ending;

        volatile long completed;
        volatile long errorCount;
        long attempted;
        long stalls;
        long slow;
        volatile Throwable failure;
        long settleErrors;
        /** CPU time of the worker's thread over its whole run (kernel time included), set when it finishes. */
        volatile long cpuNs;
        /** The same when the measured part began (0 without a settle). */
        volatile long cpuAtMeasureNs;

        Worker(final int index, final InetSocketAddress server, final List<String> sourceAddresses, final boolean open,
            final int users, final long firstNs, final long periodNs, final long endNs, final long timeoutNs,
            final long stallNs, final long slowNs, final int requestBytes, final int[] ports)
        {
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
            this.requestBytes = requestBytes;
            final ByteBuf bytes = Unpooled.directBuffer(requestBytes);
            for (int i = 0; i < requestBytes; i++)
            {
                bytes.writeByte('a' + i % 26);
            }
            this.request = Unpooled.unreleasableBuffer(bytes);
            final SelectStrategy strategy = (selectNow, hasTasks) -> hasTasks || polling ? selectNow.get() : SelectStrategy.SELECT;
            group = new EpollEventLoopGroup(1, new DefaultThreadFactory("short-" + index, true), () -> strategy);
            loop = group.next();
            // no option the path does not need: each is a system call per connection, on the CPUs the path shares
            // (a request is one write, which Nagle's algorithm does not hold back)
            bootstrap = new Bootstrap().group(group).channelFactory(() -> new EpollSocketChannel(InternetProtocolFamily.IPv4))
                .handler(new ChannelInboundHandlerAdapter());
            if (ports.length > 0)
            {
                bootstrap.option(ChannelOption.SO_REUSEADDR, true);
            }
        }

        Worker measureFrom(final long measureFromNs)
        {
            this.measureFromNs = measureFromNs;
            return this;
        }

        void start()
        {
            if (measureFromNs > firstNs)
            {
                loop.schedule(() -> cpuAtMeasureNs = ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime(),
                    measureFromNs - System.nanoTime(), TimeUnit.NANOSECONDS);
            }
            loop.schedule(guarded(this::begin), firstNs - System.nanoTime(), TimeUnit.NANOSECONDS);
            loop.schedule(guarded(this::end), endNs - System.nanoTime(), TimeUnit.NANOSECONDS);
            loop.scheduleAtFixedRate(guarded(this::checkTimeouts), 10, 10, TimeUnit.MILLISECONDS);
        }

        /** Waits up to {@code ms} for the worker to finish; true once it has. */
        boolean await(final long ms) throws InterruptedException
        {
            return done.await(ms, TimeUnit.MILLISECONDS);
        }

        private void begin()
        {
            if (open)
            {
                nextIntendedNs = firstNs;
                tick();
            }
            else
            {
                for (int i = 0; i < users; i++)
                {
                    connect(System.nanoTime());
                }
            }
        }

        /** Starts every connection due by now, on the schedule, then sleeps until the next one is due. */
        private void tick()
        {
            final long nowNs = System.nanoTime();
            while (nextIntendedNs <= nowNs && nextIntendedNs < endNs && inFlight.size() < MAX_IN_FLIGHT_PER_THREAD)
            {
                connect(nextIntendedNs);
                nextIntendedNs += periodNs;
            }
            polling = false;
            if (nextIntendedNs < endNs)
            {
                final long delayNs = Math.max(0, nextIntendedNs - System.nanoTime());
                // a task that wakes the loop the lead before the start, from when it polls; then the start itself
                loop.schedule(() -> polling = true, Math.max(0, delayNs - LEAD_NS), TimeUnit.NANOSECONDS);
                loop.schedule(guarded(this::tick), delayNs, TimeUnit.NANOSECONDS);
            }
        }

        /** No more starts; what is in flight has the timeout to finish, then fails as a timeout. */
        private void end()
        {
            ending = true;
            loop.schedule(guarded(() ->
            {
                for (final Conn conn : new ArrayList<>(inFlight))
                {
                    fail(conn, "timeout");
                }
                finishIfDrained();
            }), timeoutNs, TimeUnit.NANOSECONDS);
            finishIfDrained();
        }

        /** A task whose failure ends the worker (the main thread then reports it), not only a line in Netty's log. */
        private Runnable guarded(final Runnable task)
        {
            return () ->
            {
                try
                {
                    task.run();
                }
                catch (final RuntimeException | Error ex)
                {
                    failure = ex;
                    stop();
                }
            };
        }

        private void finishIfDrained()
        {
            if (ending && inFlight.isEmpty() && done.getCount() > 0)
            {
                cpuNs = ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime(); // the loop's thread is this worker's alone
                stop();
            }
        }

        private void stop()
        {
            done.countDown();
            group.shutdownGracefully(0, 100, TimeUnit.MILLISECONDS);
        }

        private void connect(final long originNs)
        {
            final Conn conn = new Conn(originNs, originNs >= measureFromNs);
            if (conn.measured)
            {
                startLateness.recordValue(Math.min(Math.max(0, System.nanoTime() - originNs), LoadResult.HIGHEST_TRACKABLE_NS));
                attempted++;
            }
            inFlight.add(conn);
            final InetSocketAddress local;
            if (ports.length == 0)
            {
                local = sources.get(nextSource);
                nextSource = (nextSource + 1) % sources.size();
            }
            else
            {
                // every address with one port, then the next port: a tuple returns after sources x ports
                final int source = (int)(nextPair % sources.size());
                final int port = ports[(int)(nextPair / sources.size() % ports.length)];
                nextPair++;
                local = new InetSocketAddress(sources.get(source).getAddress(), port);
            }
            bootstrap.handler(conn).connect(server, local).addListener((ChannelFutureListener)future ->
            {
                if (!future.isSuccess())
                {
                    fail(conn, ConnectStorm.classify(asIoException(future.cause())));
                }
            });
        }

        private void checkTimeouts()
        {
            final long nowNs = System.nanoTime();
            for (int i = inFlight.size() - 1; i >= 0; i--)
            {
                final Conn conn = inFlight.get(i);
                if (nowNs - conn.originNs > timeoutNs)
                {
                    fail(conn, "timeout");
                }
            }
        }

        private void fail(final Conn conn, final String reason)
        {
            if (conn.finished)
            {
                return;
            }
            if (conn.measured)
            {
                errors.merge(reason, 1L, Long::sum);
                errorCount++;
            }
            else
            {
                settleErrors++;
            }
            finish(conn);
        }

        /** Closes with RST; in closed-loop mode starts the replacement connection. */
        private void finish(final Conn conn)
        {
            conn.finished = true;
            inFlight.remove(conn);
            final Channel channel = conn.channel;
            if (channel != null)
            {
                if (channel.isActive())
                {
                    channel.config().setOption(ChannelOption.SO_LINGER, 0);
                }
                channel.close();
            }
            if (!open && !ending)
            {
                connect(System.nanoTime());
            }
            finishIfDrained();
        }

        private static IOException asIoException(final Throwable cause)
        {
            return cause instanceof IOException ? (IOException)cause : new IOException(String.valueOf(cause), cause);
        }

        /** One connection: its handler on the event loop. */
        final class Conn extends ChannelInboundHandlerAdapter
        {
            final long originNs;
            final boolean measured;
            Channel channel;
            int received;
            boolean finished;

            Conn(final long originNs, final boolean measured)
            {
                this.originNs = originNs;
                this.measured = measured;
            }

            @Override
            public void channelRegistered(final ChannelHandlerContext ctx)
            {
                channel = ctx.channel();
                if (finished)
                {
                    channel.close(); // timed out before its channel was registered
                }
            }

            @Override
            public void channelActive(final ChannelHandlerContext ctx)
            {
                if (measured)
                {
                    final long latencyNs = System.nanoTime() - originNs;
                    connectLatency.recordValue(Math.min(latencyNs, LoadResult.HIGHEST_TRACKABLE_NS));
                    if (latencyNs >= stallNs)
                    {
                        stalls++;
                    }
                    if (latencyNs >= slowNs)
                    {
                        slow++;
                    }
                }
                ctx.writeAndFlush(request.duplicate());
            }

            @Override
            public void channelRead(final ChannelHandlerContext ctx, final Object msg)
            {
                final ByteBuf data = (ByteBuf)msg;
                received += data.readableBytes();
                data.release();
                if (!finished && received >= requestBytes)
                {
                    if (measured)
                    {
                        requestLatency.recordValue(Math.min(System.nanoTime() - originNs, LoadResult.HIGHEST_TRACKABLE_NS));
                        completed++;
                    }
                    finish(this);
                }
            }

            @Override
            public void channelInactive(final ChannelHandlerContext ctx)
            {
                fail(this, "eof");
            }

            @Override
            public void exceptionCaught(final ChannelHandlerContext ctx, final Throwable cause)
            {
                fail(this, ConnectStorm.classify(asIoException(cause)));
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

        @Option(names = "--settle-s", defaultValue = "0", description = "Seconds of the same load through the path " +
            "before the measured --duration-s; nothing of them is recorded.")
        double settleS;
    }
}
