package natgw.perf.load;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

import org.HdrHistogram.Histogram;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Incident 4's lookups: a resolver (musl) sends the A and the AAAA query of a name from one UDP socket at the same
 * moment and waits for both answers; when one is missing after its timeout (2.5 s) it sends both again. Through a
 * DNAT'ed DNS VIP, the two packets are one new flow: if two CPUs create its conntrack entry at once, the second insert
 * clashes, and before Linux 4.19 that packet was dropped.
 *
 * <p>Each round, every source address opens a fresh UDP socket (the kernel picks its port) and sends its two queries
 * at the round's instant. With {@code --senders 2} the A queries of the round are sent by one thread and the AAAA
 * queries by another, both spinning to the same instant, so the two packets of each lookup enter the stack on two CPUs
 * at once: the incident's condition. A Java channel serializes its own sends, so the second thread sends from a twin
 * socket bound to the same address and port ({@code SO_REUSEPORT}): on the wire and in conntrack it is one 5-tuple,
 * one flow, as one socket. With {@code --senders 1} one thread sends both back to back from one socket, as musl's
 * loop does.
 *
 * <p>Query: {@value #QUERY_BYTES} bytes; byte {@value #ID_OFFSET} is 0 (the answering backend writes its id there,
 * see {@link ServiceBackend}), byte {@value #TYPE_OFFSET} the type (1 = A, 28 = AAAA). Per query the latency from
 * its send to its answer; per lookup from the first send to the second answer. An answer that echoes another
 * lookup's query is a <em>stray</em> (it reached a socket not its own) and counts for none. An answer later than
 * {@code --timeout-ms} is <em>late</em> (the resolver would already have retried); one still missing
 * {@code --grace-ms} after that is <em>lost</em>. A lookup whose two answers came from different backends is
 * <em>split</em> (the two packets got different translations).
 *
 * <pre>
 * DnsPairs --server 10.77.3.10 --port 53 --sources 10.77.1.2,10.77.1.3 --rounds 100 --interval-ms 20 \
 *     --senders 2 --timeout-ms 2500 --grace-ms 1000 --out dns.json
 * </pre>
 * Prints {@code progress rounds=R answered=N late=L lost=M} lines while it runs.
 */
public final class DnsPairs
{
    static final int QUERY_BYTES = 40;
    static final int ID_OFFSET = ServiceBackend.ID_OFFSET;
    static final int TYPE_OFFSET = 1;
    static final int ROUND_OFFSET = 4;
    static final byte[] TYPES = {1, 28};
    static final long LEAD_NS = TimeUnit.MILLISECONDS.toNanos(3);
    static final long SPIN_NS = TimeUnit.MICROSECONDS.toNanos(200);

    /** What one run counted. */
    static final class Stats
    {
        final Histogram query = LoadResult.newHistogram();
        final Histogram lookup = LoadResult.newHistogram();
        long lookups;
        long sent;
        long answered;
        long late;
        long lost;
        long split;
        long stalls;
        long errors;
        long strays;
        long lateRounds;
        long incomplete;
    }

    /** One lookup: its socket(s), when each query left and what came back. */
    static final class Lookup
    {
        final DatagramChannel[] channels;
        final AtomicLongArray sentNs = new AtomicLongArray(2);
        final long[] answerNs = new long[2];
        final int[] backend = new int[2];
        final int round;
        final int index;
        int answers;
        boolean closed;

        Lookup(final DatagramChannel[] channels, final int round, final int index)
        {
            this.channels = channels;
            this.round = round;
            this.index = index;
        }
    }

    /** One round's lookups, handed from the coordinator to the senders. */
    static final class Round
    {
        final int index;
        final long atNs;
        final Lookup[] lookups;

        Round(final int index, final long atNs, final Lookup[] lookups)
        {
            this.index = index;
            this.atNs = atNs;
            this.lookups = lookups;
        }
    }

    public static void main(final String[] argv) throws Exception
    {
        final Options options = ServerOptions.parse(new Options(), argv);
        final InetSocketAddress server = new InetSocketAddress(options.client.server, options.port);
        final List<String> sources = options.client.sources;
        final int rounds = options.rounds;
        final long intervalNs = TimeUnit.MICROSECONDS.toNanos((long)(options.intervalMs * 1000));
        final int senders = options.senders;
        if (senders != 1 && senders != 2)
        {
            throw new IllegalArgumentException("--senders must be 1 or 2, not " + senders);
        }
        final long timeoutNs = TimeUnit.MILLISECONDS.toNanos(options.timeoutMs);
        final long graceNs = TimeUnit.MILLISECONDS.toNanos(options.graceMs);
        final long stallNs = TimeUnit.MILLISECONDS.toNanos(options.client.stallMs);
        final Path out = options.client.out;

        final int warmupRounds = options.warmupRounds;
        if (warmupRounds > 0)
        {
            // the same code on loopback against an in-process answerer: the JIT compiles it before the real run
            final InetSocketAddress local = startLoopbackAnswerer();
            final List<String> loopback = new ArrayList<>();
            for (int i = 0; i < sources.size(); i++)
            {
                loopback.add("127.0.0." + (2 + i % 250));
            }
            new DnsPairs(local, loopback, warmupRounds, TimeUnit.MILLISECONDS.toNanos(2), senders,
                TimeUnit.MILLISECONDS.toNanos(500), 0, stallNs, false).run();
        }

        final Stats stats = new DnsPairs(server, sources, rounds, intervalNs, senders, timeoutNs, graceNs, stallNs,
            true).run();
        final LoadResult result = new LoadResult()
            .histogram("query", stats.query)
            .histogram("lookup", stats.lookup)
            .count("lookups", stats.lookups)
            .count("attempted", stats.lookups)
            .count("queries", stats.sent)
            .count("answered", stats.answered)
            .count("late", stats.late)
            .count("lost", stats.lost)
            .count("split", stats.split)
            .count("stalls", stats.stalls)
            .count("errors", stats.errors)
            .count("strays", stats.strays)
            .count("late_rounds", stats.lateRounds)
            .count("completed", stats.lookups - stats.incomplete);
        result.write(out);
        System.out.println("done lookups=" + stats.lookups + " answered=" + stats.answered + " late=" + stats.late +
            " lost=" + stats.lost + " split=" + stats.split + " errors=" + stats.errors + " strays=" + stats.strays);
    }

    private final InetSocketAddress server;
    private final List<String> sources;
    private final int rounds;
    private final long intervalNs;
    private final int senders;
    private final long timeoutNs;
    private final long graceNs;
    private final long stallNs;
    private final boolean progress;
    private final Stats stats = new Stats();
    private final ConcurrentLinkedQueue<Lookup> toRegister = new ConcurrentLinkedQueue<>();
    private final Round[] roundList;
    private final AtomicLong sendErrors = new AtomicLong();
    private volatile int publishedCount;
    private volatile boolean issuing = true;
    private volatile int registered;

    DnsPairs(final InetSocketAddress server, final List<String> sources, final int rounds, final long intervalNs,
        final int senders, final long timeoutNs, final long graceNs, final long stallNs, final boolean progress)
    {
        this.server = server;
        this.sources = sources;
        this.rounds = rounds;
        this.intervalNs = intervalNs;
        this.senders = senders;
        this.timeoutNs = timeoutNs;
        this.graceNs = graceNs;
        this.stallNs = stallNs;
        this.progress = progress;
        this.roundList = new Round[rounds];
    }

    Stats run() throws Exception
    {
        final Selector selector = Selector.open();
        final Receiver receiver = new Receiver(selector);
        final List<Sender> senderThreads = new ArrayList<>();
        for (int s = 0; s < senders; s++)
        {
            senderThreads.add(new Sender(s));
        }
        receiver.start();
        senderThreads.forEach(Thread::start);
        final long startNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
        long nextProgressNs = System.nanoTime();
        int registeredTarget = 0;
        for (int r = 0; r < rounds; r++)
        {
            final long atNs = startNs + r * intervalNs;
            final long prepareNs = atNs - LEAD_NS;
            long nowNs;
            while ((nowNs = System.nanoTime()) < prepareNs)
            {
                LockSupport.parkNanos(prepareNs - nowNs);
            }
            final Lookup[] lookups = new Lookup[sources.size()];
            for (int i = 0; i < lookups.length; i++)
            {
                lookups[i] = new Lookup(open(sources.get(i)), r, i);
                toRegister.add(lookups[i]);
            }
            registeredTarget += lookups.length;
            selector.wakeup();
            while (registered < registeredTarget && receiver.isAlive())
            {
                Thread.onSpinWait();
            }
            if (System.nanoTime() > atNs)
            {
                stats.lateRounds++;
            }
            roundList[r] = new Round(r, atNs, lookups);
            publishedCount = r + 1;
            if (progress && System.nanoTime() >= nextProgressNs)
            {
                nextProgressNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
                System.out.println("progress rounds=" + r + " " + receiver.summary());
            }
        }
        for (final Sender sender : senderThreads)
        {
            while (sender.isAlive())
            {
                sender.join(100);
            }
            if (sender.failure != null)
            {
                throw new IllegalStateException("sender failed", sender.failure);
            }
        }
        issuing = false;
        selector.wakeup();
        while (receiver.isAlive())
        {
            receiver.join(500);
            if (progress)
            {
                System.out.println("progress rounds=" + rounds + " " + receiver.summary());
            }
        }
        if (receiver.failure != null)
        {
            throw new IllegalStateException("receiver failed", receiver.failure);
        }
        selector.close();
        stats.errors += sendErrors.get();
        return stats;
    }

    /**
     * The lookup's socket; with two senders, a twin bound to the same address and port (one 5-tuple). The first binds
     * without SO_REUSEPORT and sets it afterwards: Linux lets a port-0 bind with SO_REUSEPORT join any reuseport
     * socket's port of the same owner, and another pending lookup's answers would then reach this one.
     */
    DatagramChannel[] open(final String source) throws IOException
    {
        final DatagramChannel first = DatagramChannel.open();
        first.bind(new InetSocketAddress(source, 0));
        first.configureBlocking(false);
        if (senders == 1)
        {
            return new DatagramChannel[] {first};
        }
        first.setOption(StandardSocketOptions.SO_REUSEPORT, true);
        final DatagramChannel twin = DatagramChannel.open();
        twin.setOption(StandardSocketOptions.SO_REUSEPORT, true);
        twin.bind(first.getLocalAddress());
        twin.configureBlocking(false);
        return new DatagramChannel[] {first, twin};
    }

    static void writeQuery(final ByteBuffer query, final int type, final int round, final int index)
    {
        query.clear();
        for (int i = 0; i < QUERY_BYTES; i++)
        {
            query.put(i, (byte)0);
        }
        query.put(TYPE_OFFSET, TYPES[type]);
        query.putInt(ROUND_OFFSET, round);
        query.putInt(ROUND_OFFSET + 4, index);
        query.limit(QUERY_BYTES);
    }

    /** Whether an answer echoes this lookup's query: anything else reached a socket that is not its own. */
    static boolean answers(final ByteBuffer answer, final Lookup lookup)
    {
        return answer.getInt(ROUND_OFFSET) == lookup.round && answer.getInt(ROUND_OFFSET + 4) == lookup.index;
    }

    /** 0 for an A answer, 1 for AAAA, -1 for anything else. */
    static int typeOf(final ByteBuffer answer)
    {
        if (answer.limit() < QUERY_BYTES)
        {
            return -1;
        }
        final byte type = answer.get(TYPE_OFFSET);
        return type == TYPES[0] ? 0 : type == TYPES[1] ? 1 : -1;
    }

    /** Sends its part of every round at the round's instant: both queries (one sender) or one type (two). */
    final class Sender extends Thread
    {
        private final int index;
        private final ByteBuffer query = ByteBuffer.allocateDirect(QUERY_BYTES);
        Throwable failure;

        Sender(final int index)
        {
            super("dns-sender-" + index);
            this.index = index;
        }

        @Override
        public void run()
        {
            try
            {
                for (int next = 0; next < rounds; next++)
                {
                    while (publishedCount <= next)
                    {
                        LockSupport.parkNanos(50_000);
                    }
                    final Round round = roundList[next];
                    long nowNs;
                    while ((nowNs = System.nanoTime()) < round.atNs - SPIN_NS)
                    {
                        LockSupport.parkNanos(Math.max(1_000, round.atNs - SPIN_NS - nowNs));
                    }
                    while (System.nanoTime() < round.atNs)
                    {
                        Thread.onSpinWait();
                    }
                    for (int i = 0; i < round.lookups.length; i++)
                    {
                        final Lookup lookup = round.lookups[i];
                        if (senders == 1)
                        {
                            send(lookup, 0, 0, round.index, i);
                            send(lookup, 0, 1, round.index, i);
                        }
                        else
                        {
                            send(lookup, index, index, round.index, i);
                        }
                    }
                }
            }
            catch (final Throwable t)
            {
                failure = t;
            }
        }

        private void send(final Lookup lookup, final int channel, final int type, final int round, final int i)
        {
            writeQuery(query, type, round, i);
            lookup.sentNs.set(type, System.nanoTime());
            try
            {
                if (lookup.channels[channel].send(query, server) != QUERY_BYTES)
                {
                    sendErrors.incrementAndGet();
                }
            }
            catch (final IOException e)
            {
                sendErrors.incrementAndGet();
            }
        }
    }

    /** Owns the selector: registers new sockets, takes the answers, ends lookups (answered, or lost). */
    final class Receiver extends Thread
    {
        private final Selector selector;
        private final ByteBuffer answer = ByteBuffer.allocateDirect(2048);
        private final List<Lookup> pending = new ArrayList<>();
        private long nextCheckNs;
        private int registeredCount;
        Throwable failure;

        Receiver(final Selector selector)
        {
            super("dns-receiver");
            this.selector = selector;
        }

        synchronized String summary()
        {
            return "answered=" + stats.answered + " late=" + stats.late + " lost=" + stats.lost;
        }

        @Override
        public void run()
        {
            try
            {
                while (issuing || !pending.isEmpty() || !toRegister.isEmpty())
                {
                    Lookup lookup;
                    while ((lookup = toRegister.poll()) != null)
                    {
                        for (final DatagramChannel channel : lookup.channels)
                        {
                            channel.register(selector, SelectionKey.OP_READ, lookup);
                        }
                        pending.add(lookup);
                        registered = ++registeredCount;
                    }
                    if (selector.select(1) > 0)
                    {
                        final Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
                        while (keys.hasNext())
                        {
                            final SelectionKey key = keys.next();
                            keys.remove();
                            if (key.isValid() && key.isReadable())
                            {
                                receive((DatagramChannel)key.channel(), (Lookup)key.attachment());
                            }
                        }
                    }
                    expire();
                }
            }
            catch (final Throwable t)
            {
                failure = t;
            }
        }

        private void receive(final DatagramChannel channel, final Lookup lookup) throws IOException
        {
            while (!lookup.closed)
            {
                answer.clear();
                if (channel.receive(answer) == null)
                {
                    return;
                }
                final long nowNs = System.nanoTime();
                answer.flip();
                final int type = typeOf(answer);
                if (type >= 0 && !answers(answer, lookup))
                {
                    synchronized (this)
                    {
                        stats.strays++;
                    }
                    continue;
                }
                if (type < 0 || lookup.answerNs[type] != 0)
                {
                    continue;
                }
                final long sentNs = lookup.sentNs.get(type);
                final long latencyNs = nowNs - sentNs;
                synchronized (this)
                {
                    lookup.answerNs[type] = nowNs;
                    lookup.backend[type] = answer.get(ID_OFFSET);
                    lookup.answers++;
                    stats.answered++;
                    stats.query.recordValue(Math.min(latencyNs, LoadResult.HIGHEST_TRACKABLE_NS));
                    if (latencyNs > timeoutNs)
                    {
                        stats.late++;
                    }
                    if (lookup.answers == 2)
                    {
                        final long firstSentNs = Math.min(lookup.sentNs.get(0), lookup.sentNs.get(1));
                        final long lookupNs = Math.max(lookup.answerNs[0], lookup.answerNs[1]) - firstSentNs;
                        stats.lookup.recordValue(Math.min(lookupNs, LoadResult.HIGHEST_TRACKABLE_NS));
                        if (lookup.backend[0] != lookup.backend[1])
                        {
                            stats.split++;
                        }
                        if (lookupNs >= stallNs)
                        {
                            stats.stalls++;
                        }
                        end(lookup);
                    }
                }
            }
        }

        /** Every 10 ms: lookups past timeout + grace since their last send are ended, their missing answers lost. */
        private void expire() throws IOException
        {
            final long nowNs = System.nanoTime();
            if (nowNs < nextCheckNs)
            {
                return;
            }
            nextCheckNs = nowNs + TimeUnit.MILLISECONDS.toNanos(10);
            for (int i = pending.size() - 1; i >= 0; i--)
            {
                final Lookup lookup = pending.get(i);
                if (lookup.closed)
                {
                    pending.remove(i);
                    continue;
                }
                final long lastSentNs = Math.max(lookup.sentNs.get(0), lookup.sentNs.get(1));
                final boolean bothSent = lookup.sentNs.get(0) != 0 && lookup.sentNs.get(1) != 0;
                // a query whose send failed is never answered: once the senders are done, it waits no longer
                if ((bothSent || !issuing) && nowNs - lastSentNs > timeoutNs + graceNs)
                {
                    synchronized (this)
                    {
                        stats.lost += 2 - lookup.answers;
                        stats.incomplete++;
                        stats.stalls++;
                        end(lookup);
                    }
                    pending.remove(i);
                }
            }
        }

        private void end(final Lookup lookup) throws IOException
        {
            lookup.closed = true;
            stats.lookups++;
            stats.sent += 2;
            for (final DatagramChannel channel : lookup.channels)
            {
                channel.close();
            }
        }
    }

    /** A UDP answerer on loopback for the warm-up: answers every datagram with itself, id 1. */
    static InetSocketAddress startLoopbackAnswerer() throws IOException
    {
        final DatagramChannel channel = DatagramChannel.open();
        channel.bind(new InetSocketAddress("127.0.0.1", 0));
        final Thread thread = new Thread(() ->
        {
            final ByteBuffer buffer = ByteBuffer.allocateDirect(2048);
            try
            {
                while (true)
                {
                    buffer.clear();
                    final java.net.SocketAddress from = channel.receive(buffer);
                    buffer.flip();
                    buffer.put(ID_OFFSET, (byte)1);
                    channel.send(buffer, from);
                }
            }
            catch (final IOException e)
            {
                // warm-up over
            }
        }, "dns-loopback");
        thread.setDaemon(true);
        thread.start();
        return (InetSocketAddress)channel.getLocalAddress();
    }

    static final class Options
    {
        @Mixin
        ClientOptions client = new ClientOptions();

        @Option(names = "--port", defaultValue = "53", description = "The server's UDP port.")
        int port;

        @Option(names = "--rounds", defaultValue = "100", description = "Rounds; in each every source sends one lookup.")
        int rounds;

        @Option(names = "--interval-ms", defaultValue = "20", description = "Pause between rounds.")
        double intervalMs;

        @Option(names = "--senders", defaultValue = "2", description = "1: A and AAAA from one thread; 2: from two at once.")
        int senders;

        @Option(names = "--timeout-ms", defaultValue = "2500", description = "An answer later than this is late.")
        long timeoutMs;

        @Option(names = "--grace-ms", defaultValue = "1000", description = "Missing this long after the timeout: lost.")
        long graceMs;

        @Option(names = "--warmup-rounds", defaultValue = "100", description = "Rounds on loopback first, for the JIT.")
        int warmupRounds;
    }
}
