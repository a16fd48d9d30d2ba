package natgw.core.pipeline;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.ObjLongConsumer;

import org.agrona.concurrent.UnsafeBuffer;

import natgw.core.conntrack.ConntrackEvents;
import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.Timeouts;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.core.nat.AffinityTable;
import natgw.core.nat.BackendCounters;
import natgw.core.nat.Cidr;
import natgw.core.nat.ConnectionQueueHints;
import natgw.core.nat.KeptPortHints;
import natgw.core.nat.NatAllocator;
import natgw.core.nat.PortStrategy;
import natgw.core.nat.Services;
import natgw.core.nat.SnatPolicy;
import natgw.core.packet.Checksum;
import natgw.core.packet.IcmpHeader;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.PacketBuilder;
import natgw.core.packet.TcpHeader;
import natgw.core.packet.UdpHeader;
import natgw.core.packet.VirtioNetHeader;

/**
 * Runs synthetic traffic through a private pipeline before a gateway takes real packets, so the JIT
 * has compiled the packet path: without it the first thousands of packets run interpreted, and the
 * first connections through a fresh gateway take tens of milliseconds. Nothing here touches the
 * gateway's own table or counters.
 */
public final class Warmup
{
    private static final int CLIENT_BASE = FlowTuple.parseAddress("10.255.0.1");
    private static final int POOL = FlowTuple.parseAddress("192.0.2.1");
    private static final int SERVER = FlowTuple.parseAddress("198.51.100.1");
    private static final int VIP = FlowTuple.parseAddress("203.0.113.1");
    private static final int BACKEND = FlowTuple.parseAddress("198.51.100.2");
    /** Each thread's clients are 512 addresses of the /16 from CLIENT_BASE. */
    public static final int MAX_THREADS = 64;
    private static final long START_NS = 1_000_000_000L;
    private static final long ROUND_NS = 1000;

    private Warmup()
    {
    }

    /** Sends {@code rounds} rounds of a few flows (TCP handshake and data, UDP, ICMP echo and errors, DNAT). */
    public static long run(final PortStrategy strategy, final int rounds)
    {
        return run(strategy, rounds, false);
    }

    /**
     * As {@link #run(PortStrategy, int)}; with {@code vnetHeaders}, as a gateway with offloads sees its traffic: a
     * virtio-net header before every packet, TCP and UDP with partial checksums, data as GSO super-packets.
     */
    public static long run(final PortStrategy strategy, final int rounds, final boolean vnetHeaders)
    {
        return run(strategy, rounds, vnetHeaders, ConntrackEvents.NONE);
    }

    /**
     * As {@link #run(PortStrategy, int, boolean)}, telling {@code events} of every connection as a gateway's
     * pipelines and table tell theirs. Give it a listener of the gateway's own classes: the compiled packet path
     * then expects the listener the gateway calls, and the gateway's first connections do not throw it out.
     */
    public static long run(final PortStrategy strategy, final int rounds, final boolean vnetHeaders, final ConntrackEvents events)
    {
        return run(strategy, rounds, vnetHeaders, events, 1, (table, nowNs) -> table.flush(new ConntrackTable.Cursor()));
    }

    /**
     * As {@link #run(PortStrategy, int, boolean, ConntrackEvents)}, on {@code threads} threads at once over one table,
     * as a gateway's workers share theirs: what only concurrency does (a lost compare-and-set on the free list or a
     * chain) is then on the compiled path too. Each thread sends its own clients' {@code rounds} rounds. Every few
     * rounds, with every thread between two rounds, {@code expire} must end every connection of the table at a time
     * past all their deadlines (the gateway's reaper, so that its path is compiled too).
     */
    public static long run(
        final PortStrategy strategy, final int rounds, final boolean vnetHeaders, final ConntrackEvents events, final int threads,
        final ObjLongConsumer<ConntrackTable> expire)
    {
        if (threads < 1 || threads > MAX_THREADS)
        {
            throw new IllegalArgumentException("1 to " + MAX_THREADS + " warm-up threads, got " + threads);
        }
        final ConntrackTable table = new ConntrackTable(8192 * threads, 0); // a few rounds' connections, and their mappings
        final ConntrackTable contended = threads > 1 ? new ConntrackTable(CONTENDED_CAPACITY, 0) : null;
        table.onKill(events);
        // past every deadline of the warm-up's connections: its clock moves 1 µs a round, the longest timeout is days
        final long pastEveryDeadlineNs = START_NS + rounds * ROUND_NS + TimeUnit.DAYS.toNanos(10);
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final CyclicBarrier emptied = new CyclicBarrier(threads, () ->
        {
            expire.accept(table, pastEveryDeadlineNs);
            final int left = table.countInUse();
            table.recomputeHighWater();
            if (left != 0)
            {
                // the next rounds would find their tuples taken: their packets would teach the compiler drops
                final IllegalStateException ex = new IllegalStateException("the warm-up's expiry left " + left + " entries in use");
                failure.set(ex); // the cause, whichever thread reports first that the barrier broke
                throw ex;
            }
        });
        final AtomicLong forwarded = new AtomicLong();
        final Thread[] others = new Thread[threads - 1];
        for (int t = 1; t < threads; t++)
        {
            final int thread = t;
            others[t - 1] = new Thread(() ->
            {
                try
                {
                    forwarded.addAndGet(traffic(table, contended, strategy, rounds, vnetHeaders, events, thread, threads, emptied));
                }
                catch (final Throwable ex)
                {
                    failure.compareAndSet(null, ex);
                    emptied.reset(); // the others stop waiting for it
                }
            }, "natgw-warmup-" + t);
            others[t - 1].start();
        }
        try
        {
            forwarded.addAndGet(traffic(table, contended, strategy, rounds, vnetHeaders, events, 0, threads, emptied));
        }
        catch (final RuntimeException ex)
        {
            failure.compareAndSet(null, ex);
            emptied.reset();
        }
        for (final Thread other : others)
        {
            joinUninterruptibly(other);
        }
        final Throwable failed = failure.get();
        if (failed != null)
        {
            throw failed instanceof RuntimeException ? (RuntimeException)failed : new IllegalStateException("warm-up failed: " + failed, failed);
        }
        return forwarded.get();
    }

    /**
     * A pipeline over a small table of its own, as {@link #run} warms: for warming what calls a pipeline (the gateway's
     * workers and their idle strategy) on packets it forwards. {@link Scratch#datagram} builds them.
     */
    public static Scratch scratch(final PortStrategy strategy, final boolean vnetHeaders, final ConntrackEvents events)
    {
        final ConntrackTable table = new ConntrackTable(Scratch.CAPACITY, 0);
        table.onKill(events);
        return new Scratch(table, pipeline(table, strategy, new WorkerCounters(0), new Services(), vnetHeaders, events, false),
            vnetHeaders);
    }

    /** A scratch pipeline, its table, and the datagrams it forwards. */
    public static final class Scratch
    {
        static final int CAPACITY = 8192;
        /** Distinct inside endpoints a scratch pipeline's datagrams come from; their flows fit its table twice over. */
        public static final int FLOWS = 2048;
        private final ConntrackTable table;
        private final Pipeline pipeline;
        private final boolean vnetHeaders;
        private final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();

        private Scratch(final ConntrackTable table, final Pipeline pipeline, final boolean vnetHeaders)
        {
            this.table = table;
            this.pipeline = pipeline;
            this.vnetHeaders = vnetHeaders;
        }

        public Pipeline pipeline()
        {
            return pipeline;
        }

        /**
         * Builds at {@code offset} of {@code packets}' buffer a UDP datagram of flow {@code flow} (0 to {@value #FLOWS} - 1)
         * from the inside to a server, behind an all-zero virtio-net header if the pipeline expects one (the header
         * then starts at {@code offset}); returns its length with the header.
         */
        public int datagram(final PacketBuilder packets, final int offset, final int flow)
        {
            final int vnet = vnetHeaders ? VirtioNetHeader.LENGTH : 0;
            if (vnet > 0)
            {
                packets.buffer().setMemory(offset, vnet, (byte)0);
            }
            return vnet + packets.udp(offset + vnet, CLIENT_BASE + (flow >> 8), 30_000 + (flow & 0xFF), SERVER, 53, 32);
        }

        /** Ends every connection of the scratch table, as its connections would end: the next datagrams are new flows. */
        public int expireAll()
        {
            return table.flush(cursor);
        }
    }

    /** One thread's rounds: its own clients, its own pipelines (with and without a service), the shared table. */
    private static long traffic(
        final ConntrackTable table, final ConntrackTable contended, final PortStrategy strategy, final int rounds,
        final boolean vnetHeaders, final ConntrackEvents events, final int thread, final int threads, final CyclicBarrier emptied)
    {
        if (threads > 1)
        {
            await(emptied); // all threads at once
            contend(contended, thread);
        }
        final WorkerCounters counters = new WorkerCounters(thread);
        final Services services = new Services();
        services.add(Services.ServiceSpec.parse("tcp:203.0.113.1:80=198.51.100.2:8080"));
        // with and without a service: a gateway has either, and its path must not meet the other as a surprise;
        // the same for the flow steering's hints (--queue-steering flows against ports)
        final Pipeline withService = pipeline(table, strategy, counters, services, vnetHeaders, events, true);
        final Pipeline withoutService = pipeline(table, strategy, counters, new Services(), vnetHeaders, events, false);
        final int vnet = vnetHeaders ? VirtioNetHeader.LENGTH : 0;
        final PacketBuilder packets = new PacketBuilder(new UnsafeBuffer(ByteBuffer.allocateDirect(65536)));
        final UnsafeBuffer buffer = packets.buffer();
        final Offloaded offloaded = new Offloaded(buffer, vnet);
        final OnePacket one = new OnePacket();
        long forwarded = 0;
        long nowNs = START_NS;
        for (int r = 0; r < rounds; r++)
        {
            final Pipeline pipeline = (r & 1) == 0 ? withService : withoutService;
            final int client = CLIENT_BASE + (thread << 9) + (r & 0xFF);
            final int port = 20000 + (r & 0x3FFF);
            nowNs += ROUND_NS;
            // as an idle worker does, on a clock that passes the fragment sweep's interval every few rounds
            pipeline.expireFragments(nowNs + r * 10_000_000L);
            int natPort;
            // TCP: handshake, data both ways (super-packets with offloads), FIN
            forwarded += forward(pipeline, one, buffer, offloaded.tcp(packets.tcp(vnet, client, port, SERVER, 443, TcpHeader.SYN, r, 0, 0)), nowNs);
            natPort = buffer.getShort(vnet + 20, java.nio.ByteOrder.BIG_ENDIAN) & 0xFFFF;
            forwarded += forward(pipeline, one, buffer, offloaded.tcp(packets.tcp(vnet, SERVER, 443, POOL, natPort, TcpHeader.SYN | TcpHeader.ACK, 7, r + 1, 0)), nowNs);
            // data with a full checksum (verified over the payload), as from a sender without checksum offload
            forwarded += forward(pipeline, one, buffer, offloaded.plain(packets.tcp(vnet, client, port, SERVER, 443, TcpHeader.ACK, r + 1, 8, 100)), nowNs);
            forwarded += forward(pipeline, one, buffer, offloaded.tcp(packets.tcp(vnet, SERVER, 443, POOL, natPort, TcpHeader.ACK, 8, r + 101,
                vnetHeaders && (r & 3) == 0 ? 8 * Offloaded.MSS : 1200)), nowNs);
            forwarded += forward(pipeline, one, buffer, offloaded.tcp(packets.tcp(vnet, client, port, SERVER, 443, TcpHeader.FIN | TcpHeader.ACK, r + 101, 1208, 0)), nowNs);
            // the server's FIN and the last ACK: TIME_WAIT
            forwarded += forward(pipeline, one, buffer, offloaded.tcp(packets.tcp(vnet, SERVER, 443, POOL, natPort, TcpHeader.FIN | TcpHeader.ACK, 1208, r + 102, 0)), nowNs);
            forwarded += forward(pipeline, one, buffer, offloaded.tcp(packets.tcp(vnet, client, port, SERVER, 443, TcpHeader.ACK, r + 102, 1209, 0)), nowNs);
            // another client from the same port (its mapping must search past the first's port), reset by the
            // client, then opened again on the same tuple: a CLOSE connection reopened
            final int other = client + 0x100;
            forwarded += forward(pipeline, one, buffer, offloaded.tcp(packets.tcp(vnet, other, port, SERVER, 443, TcpHeader.SYN, r, 0, 0)), nowNs);
            final int otherPort = buffer.getShort(vnet + 20, java.nio.ByteOrder.BIG_ENDIAN) & 0xFFFF;
            forwarded += forward(pipeline, one, buffer, offloaded.tcp(packets.tcp(vnet, SERVER, 443, POOL, otherPort, TcpHeader.SYN | TcpHeader.ACK, 9, r + 1, 0)), nowNs);
            // a full checksum, no offload: as a RST the kernel makes itself reaches the TUN
            forwarded += forward(pipeline, one, buffer, offloaded.plain(packets.tcp(vnet, other, port, SERVER, 443, TcpHeader.RST | TcpHeader.ACK, r + 1, 10, 0)), nowNs);
            forwarded += forward(pipeline, one, buffer, offloaded.tcp(packets.tcp(vnet, other, port, SERVER, 443, TcpHeader.SYN, r + 70_000, 0, 0)), nowNs);
            // UDP and its port unreachable
            forwarded += forward(pipeline, one, buffer, offloaded.udp(packets.udp(vnet, client, port, SERVER, 53, 32)), nowNs);
            natPort = buffer.getShort(vnet + 20, java.nio.ByteOrder.BIG_ENDIAN) & 0xFFFF;
            final int quoted = packets.udp(8192, POOL, natPort, SERVER, 53, 32);
            forwarded += forward(pipeline, one, buffer, offloaded.plain(
                packets.icmpError(vnet, SERVER, POOL, IcmpHeader.DEST_UNREACHABLE, IcmpHeader.CODE_PORT_UNREACHABLE, 8192, Math.min(quoted, 28))), nowNs);
            // ICMP echo
            forwarded += forward(pipeline, one, buffer, offloaded.plain(packets.icmpEcho(vnet, client, SERVER, IcmpHeader.ECHO_REQUEST, port, r & 0xFFFF, 56)), nowNs);
            final int natId = buffer.getShort(vnet + 24, java.nio.ByteOrder.BIG_ENDIAN) & 0xFFFF;
            forwarded += forward(pipeline, one, buffer, offloaded.plain(packets.icmpEcho(vnet, SERVER, POOL, IcmpHeader.ECHO_REPLY, natId, r & 0xFFFF, 56)), nowNs);
            // DNAT
            forwarded += forward(pipeline, one, buffer, offloaded.tcp(packets.tcp(vnet, client, port, VIP, 80, TcpHeader.SYN, r, 0, 0)), nowNs);
            if ((r & 255) == 255)
            {
                await(emptied); // every thread between two rounds: the last to arrive empties the table
            }
        }
        return forwarded;
    }

    /** Entries of the table the threads contend on: few enough that they meet on its free list and its chains. */
    private static final int CONTENDED_CAPACITY = 4;
    private static final int CONTENDED_ITERATIONS = 20_000;

    /**
     * All threads at once, before their rounds: allocate, link and give up entries of a table of four, so that
     * compare-and-sets on its free list and chains are lost, and are in the profile the compiler reads when it
     * compiles the rounds' path (a branch no profile saw taken is compiled as a trap, and a gateway's first lost
     * race would deoptimise the whole new-connection path in the middle of a burst).
     */
    private static void contend(final ConntrackTable contended, final int thread)
    {
        final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
        for (int i = 0; i < CONTENDED_ITERATIONS; i++)
        {
            final int entry = contended.allocate();
            if (entry < 0)
            {
                continue;
            }
            final int port = 1024 + (thread << 4) + (i & 15); // each thread's own tuples: no clash, only races
            contended.initialise(entry, FlowTuple.packAddresses(CLIENT_BASE, SERVER), FlowTuple.packPorts(Ipv4Header.PROTO_UDP, port, 53),
                FlowTuple.packAddresses(SERVER, POOL), FlowTuple.packPorts(Ipv4Header.PROTO_UDP, 53, port), 0, 0, 1000);
            contended.claim(cursor, entry, ConntrackTable.REPLY);
            contended.abandon(cursor, entry);
        }
    }

    private static void await(final CyclicBarrier barrier)
    {
        try
        {
            barrier.await();
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("warm-up interrupted", ex);
        }
        catch (final BrokenBarrierException ex)
        {
            throw new IllegalStateException("another warm-up thread failed", ex);
        }
    }

    private static void joinUninterruptibly(final Thread thread)
    {
        boolean interrupted = false;
        while (true)
        {
            try
            {
                thread.join();
                break;
            }
            catch (final InterruptedException ex)
            {
                interrupted = true;
            }
        }
        if (interrupted)
        {
            Thread.currentThread().interrupt();
        }
    }

    private static Pipeline pipeline(
        final ConntrackTable table, final PortStrategy strategy, final WorkerCounters counters, final Services services,
        final boolean vnetHeaders, final ConntrackEvents events, final boolean flowSteering)
    {
        // searches aimed at one of two queues, as a gateway's with queue steering by ports (flowSteering: by flows,
        // with hints); without it, the same code runs with the aim's branch never taken
        return new Pipeline(table, new NatAllocator(table, strategy, counters, 0, true, 7, NatAllocator.defaultMapping(strategy))
            .steeredQueues(2, 0).flowSteering(flowSteering ? new KeptPortHints(new UnsafeBuffer(new byte[KeptPortHints.SLOTS])) : null)
            .connectionSteering(flowSteering ? new ConnectionQueueHints(new UnsafeBuffer(new byte[ConnectionQueueHints.BYTES]), 2) : null, 0),
            new SnatPolicy(List.of(new Cidr(CLIENT_BASE, 16)), new int[]{ POOL }, 1024, 65535), new Timeouts(), counters,
            true, services, new BackendCounters(), new AffinityTable(64), true).virtioNetHeaders(vnetHeaders).events(events);
    }

    /** Through the batch entry point, the one the gateway's workers call: a batch of one, as each packet needs the last's output. */
    private static long forward(final Pipeline pipeline, final OnePacket one, final UnsafeBuffer buffer, final int length, final long nowNs)
    {
        one.buffers[0] = buffer;
        one.lengths[0] = length;
        pipeline.process(one.buffers, 0, one.lengths, 1, nowNs, one.verdicts, one.outputLengths, one.segments);
        return one.verdicts[0] == Pipeline.FORWARD ? 1 : 0;
    }

    private static final class OnePacket
    {
        final UnsafeBuffer[] buffers = new UnsafeBuffer[1];
        final int[] lengths = new int[1];
        final int[] verdicts = new int[1];
        final int[] outputLengths = new int[1];
        final int[] segments = new int[1];
    }

    /**
     * Puts the virtio-net header a TUN with offloads would put before a packet built at {@code vnet}: TCP and UDP
     * with their checksum left partial (the pseudo header's sum), a GSO super-packet past one MSS. Without a
     * header ({@code vnet} 0) the packet stays as built.
     */
    private static final class Offloaded
    {
        static final int MSS = 1448;
        private final UnsafeBuffer buffer;
        private final int vnet;
        private final VirtioNetHeader header = new VirtioNetHeader();

        Offloaded(final UnsafeBuffer buffer, final int vnet)
        {
            this.buffer = buffer;
            this.vnet = vnet;
        }

        int tcp(final int ipLength)
        {
            if (vnet == 0)
            {
                return ipLength;
            }
            final int l4Length = ipLength - 20;
            final int payload = l4Length - TcpHeader.MIN_LENGTH;
            partial(ipLength, TcpHeader.CHECKSUM_OFFSET, Ipv4Header.PROTO_TCP);
            header.gsoType(payload > MSS ? VirtioNetHeader.GSO_TCPV4 : VirtioNetHeader.GSO_NONE).gsoSize(payload > MSS ? MSS : 0)
                .hdrLen(40);
            return vnet + ipLength;
        }

        int udp(final int ipLength)
        {
            if (vnet == 0)
            {
                return ipLength;
            }
            partial(ipLength, UdpHeader.CHECKSUM_OFFSET, Ipv4Header.PROTO_UDP);
            header.hdrLen(28);
            return vnet + ipLength;
        }

        int plain(final int ipLength)
        {
            if (vnet == 0)
            {
                return ipLength;
            }
            header.wrap(buffer, 0).clear();
            return vnet + ipLength;
        }

        private void partial(final int ipLength, final int checkOffset, final int protocol)
        {
            final int src = buffer.getInt(vnet + Ipv4Header.SRC_ADDRESS_OFFSET, java.nio.ByteOrder.BIG_ENDIAN);
            final int dst = buffer.getInt(vnet + Ipv4Header.DST_ADDRESS_OFFSET, java.nio.ByteOrder.BIG_ENDIAN);
            final int seed = ~Checksum.finish(Checksum.pseudoHeaderSum(src, dst, protocol, ipLength - 20)) & 0xFFFF;
            buffer.putShort(vnet + 20 + checkOffset, (short)seed, java.nio.ByteOrder.BIG_ENDIAN);
            header.wrap(buffer, 0).clear().flags(VirtioNetHeader.NEEDS_CSUM).csumStart(20).csumOffset(checkOffset);
        }
    }
}
