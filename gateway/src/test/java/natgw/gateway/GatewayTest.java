package natgw.gateway;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import natgw.core.conntrack.ConntrackCounter;
import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.core.nat.Cidr;
import natgw.core.nat.Services;
import natgw.core.packet.DropReason;
import natgw.core.packet.IcmpHeader;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.PacketBuilder;
import natgw.core.packet.TcpHeader;
import natgw.core.packet.UdpHeader;
import natgw.core.packet.VirtioNetHeader;
import natgw.tun.LinuxTun;
import natgw.tun.testing.ChannelTun;
import natgw.tun.testing.ProcSched;
import org.agrona.concurrent.CachedNanoClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The gateway's workers and reaper over the in-memory TUN, driven by calling doWork() with a clock the
 * test advances: the whole pipeline without root, threads or sleeps.
 */
class GatewayTest
{
    private static final int CLIENT = FlowTuple.parseAddress("10.77.1.2");
    private static final int SERVER = FlowTuple.parseAddress("10.77.2.2");
    private static final int POOL = FlowTuple.parseAddress("10.77.2.100");
    private static final int VIP = FlowTuple.parseAddress("10.77.3.10");
    private static final int BACKEND = FlowTuple.parseAddress("10.77.2.11");

    private final CachedNanoClock clock = new CachedNanoClock();
    private final ChannelTun tun = new ChannelTun(2);
    private final PacketBuilder packets = new PacketBuilder(new UnsafeBuffer(ByteBuffer.allocateDirect(65536)));
    private Gateway gateway;

    private Gateway gateway(final List<Services.ServiceSpec> services)
    {
        final GatewayConfig config = new GatewayConfig();
        config.inside(List.of(Cidr.parse("10.77.1.0/24")));
        config.pool(new int[]{ POOL });
        config.conntrackMax(1024);
        config.timeouts().udpUnrepliedMs(30_000);
        config.services(services);
        clock.update(1_000_000_000L);
        gateway = new Gateway(config, tun, clock, new PrintStream(new ByteArrayOutputStream()));
        return gateway;
    }

    @AfterEach
    void close()
    {
        tun.close();
    }

    private byte[] bytes(final int length)
    {
        final byte[] out = new byte[length];
        packets.buffer().getBytes(0, out);
        return out;
    }

    private static Ipv4Header ip(final byte[] packet)
    {
        return new Ipv4Header().wrap(new UnsafeBuffer(packet), 0);
    }

    @Test
    void shouldTranslateWhatItReadsAndWriteItBackOnTheSameQueue()
    {
        final Worker worker = gateway(List.of()).workers().get(1);
        tun.inject(1, bytes(packets.udp(0, CLIENT, 5353, SERVER, 53, 12)));

        assertEquals(1, worker.doWork());
        final byte[] out = tun.takeWritten(1);
        assertEquals(POOL, ip(out).srcAddress());
        assertEquals(SERVER, ip(out).dstAddress());
        assertTrue(ip(out).isChecksumValid());
        assertNull(tun.takeWritten(0), "nothing on the other queue");

        tun.inject(1, bytes(packets.udp(0, SERVER, 53, POOL, 5353, 12)));
        worker.doWork();
        final byte[] reply = tun.takeWritten(1);
        assertEquals(CLIENT, ip(reply).dstAddress());
        assertEquals(1, worker.pipeline().counters().get(ConntrackCounter.INSERT));
        assertEquals(2, worker.pipeline().counters().get(ConntrackCounter.TX_PACKETS));
    }

    @Test
    void shouldReadAgainAfterAFullBatchAndSleepAfterAShortOne()
    {
        final Worker worker = gateway(List.of()).workers().get(0);
        final byte[] packet = bytes(packets.udp(0, CLIENT, 5000, SERVER, 53, 12));
        for (int i = 0; i <= LinuxTun.BATCH_SIZE; i++)
        {
            tun.inject(0, packet);
        }

        assertEquals(LinuxTun.BATCH_SIZE, worker.doWork());
        assertFalse(worker.drained(), "a full batch: more may be waiting");
        assertEquals(1, worker.doWork());
        assertTrue(worker.drained());
        assertEquals(LinuxTun.BATCH_SIZE + 1, tun.drainWritten(0).size());
    }

    @Test
    void shouldDropMalformedPacketsOfABatchAndForwardTheRest()
    {
        final Worker worker = gateway(List.of()).workers().get(0);
        final byte[] good = bytes(packets.udp(0, CLIENT, 5000, SERVER, 53, 12));
        final byte[] badChecksum = good.clone();
        badChecksum[Ipv4Header.CHECKSUM_OFFSET] ^= 0x1;
        tun.inject(0, new byte[]{ 0x45, 0, 0 }, badChecksum, good);

        assertEquals(3, worker.doWork());
        assertTrue(worker.drained(), "3 packets, fewer than a batch: the read ended on the empty queue");
        assertEquals(1, tun.drainWritten(0).size());
        assertEquals(1, worker.pipeline().counters().get(DropReason.TRUNCATED));
        assertEquals(1, worker.pipeline().counters().get(DropReason.BAD_HEADER_CHECKSUM));
    }

    @Test
    void shouldCountTheBytesOfEveryPacketReadAndOfThoseWritten()
    {
        final Worker worker = gateway(List.of()).workers().get(0);
        final byte[] good = bytes(packets.udp(0, CLIENT, 5000, SERVER, 53, 12));
        tun.inject(0, new byte[]{ 0x45, 0, 0 }, good);

        worker.doWork();
        assertEquals(3 + good.length, worker.pipeline().counters().get(ConntrackCounter.RX_BYTES));
        assertEquals(good.length, worker.pipeline().counters().get(ConntrackCounter.TX_BYTES), "the truncated one was dropped");
    }

    @Test
    void shouldCountBytesFromTheIpHeaderWhenAVirtioNetHeaderPrecedesIt()
    {
        final Gateway gateway = gateway(List.of());
        final Worker worker = new Worker(0, tun.queue(0), gateway.workers().get(0).pipeline(), clock, true);
        final byte[] udp = bytes(packets.udp(0, CLIENT, 5000, SERVER, 53, 12));
        final byte[] withHeader = new byte[VirtioNetHeader.LENGTH + udp.length];
        System.arraycopy(udp, 0, withHeader, VirtioNetHeader.LENGTH, udp.length);
        tun.inject(0, withHeader);

        worker.doWork();
        final WorkerCounters counters = worker.pipeline().counters();
        assertEquals(udp.length, counters.get(ConntrackCounter.RX_BYTES));
        // the in-memory TUN takes IP packets only, so it refuses this one: no byte written
        assertEquals(1, counters.get(DropReason.TX_FAILED));
        assertEquals(0, counters.get(ConntrackCounter.TX_BYTES));
    }

    @Test
    void shouldShareOneConnectionBetweenWorkersOfBothQueues()
    {
        final Gateway gateway = gateway(List.of());
        tun.inject(0, bytes(packets.tcp(0, CLIENT, 40000, SERVER, 80, TcpHeader.SYN, 1, 0, 0)));
        gateway.workers().get(0).doWork();
        final byte[] syn = tun.takeWritten(0);
        final int natPort = new TcpHeader().wrap(new UnsafeBuffer(syn), Ipv4Header.MIN_LENGTH).srcPort();

        // the reply arrives on the other queue: the same table, the same translation
        tun.inject(1, bytes(packets.tcp(0, SERVER, 80, POOL, natPort, TcpHeader.SYN | TcpHeader.ACK, 9, 2, 0)));
        gateway.workers().get(1).doWork();
        final byte[] synAck = tun.takeWritten(1);
        assertEquals(CLIENT, ip(synAck).dstAddress());
        assertEquals(40000, new TcpHeader().wrap(new UnsafeBuffer(synAck), Ipv4Header.MIN_LENGTH).dstPort());
    }

    @Test
    void shouldExpireConnectionsWhenTheClockPassesTheirTimeout()
    {
        final Gateway gateway = gateway(List.of());
        tun.inject(0, bytes(packets.udp(0, CLIENT, 5000, SERVER, 53, 12)));
        gateway.workers().get(0).doWork();
        assertEquals(1, gateway.table().countInUse());

        clock.advance(29_000_000_000L);
        sweep(gateway.reaper(), gateway.table());
        assertEquals(1, gateway.table().countInUse(), "29 s: still within udp's 30 s");

        clock.advance(2_000_000_000L);
        sweep(gateway.reaper(), gateway.table());
        assertEquals(0, gateway.table().countInUse());
        assertEquals(1, gateway.reaper().expired());
    }

    @Test
    void shouldRunEveryWorkerThreadWithTheSliceOfTheConfig() throws Exception
    {
        final Gateway gateway = gateway(List.of());
        gateway.start();
        try
        {
            assertEquals("100 us", gateway.workerSlice(10_000));
            final List<Long> slices = new ArrayList<>();
            try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task")))
            {
                for (final Path task : tasks)
                {
                    if (Files.readString(task.resolve("comm")).startsWith("natgw-worker"))
                    {
                        slices.add(ProcSched.slice(task));
                    }
                }
            }
            assertEquals(List.of(100_000L, 100_000L), slices, "se.slice of each natgw-worker thread in /proc");
        }
        finally
        {
            gateway.close();
        }
    }

    @Test
    void shouldFlushEveryConnection()
    {
        final Gateway gateway = gateway(List.of());
        for (int port = 5000; port < 5010; port++)
        {
            tun.inject(0, bytes(packets.udp(0, CLIENT, port, SERVER, 53, 12)));
        }
        gateway.workers().get(0).doWork();
        assertEquals(10, gateway.table().countInUse());
        assertEquals(10, gateway.reaper().flush());
        assertEquals(0, gateway.table().countInUse());
    }

    @Test
    void shouldAnswerAClientOfARemovedBackendWithAReset()
    {
        final Gateway gateway = gateway(List.of(Services.ServiceSpec.parse("tcp:10.77.3.10:80=10.77.2.11:8080")));
        final Worker worker = gateway.workers().get(0);
        tun.inject(0, bytes(packets.tcp(0, CLIENT, 41000, VIP, 80, TcpHeader.SYN, 100, 0, 0)));
        worker.doWork();
        final byte[] syn = tun.takeWritten(0);
        assertEquals(BACKEND, ip(syn).dstAddress());
        assertEquals(POOL, ip(syn).srcAddress());

        gateway.services().removeBackend("tcp:10.77.3.10:80", BACKEND, 8080);
        tun.inject(0, bytes(packets.tcp(0, CLIENT, 41000, VIP, 80, TcpHeader.ACK, 101, 5000, 10)));
        worker.doWork();
        final byte[] answer = tun.takeWritten(0);
        assertEquals(40, answer.length);
        assertEquals(VIP, ip(answer).srcAddress());
        assertEquals(CLIENT, ip(answer).dstAddress());
        final TcpHeader rst = new TcpHeader().wrap(new UnsafeBuffer(answer), Ipv4Header.MIN_LENGTH);
        assertEquals(TcpHeader.RST, rst.flags());
        assertEquals(5000, rst.sequence(), "RST's sequence is the segment's acknowledgment");
        assertTrue(rst.isChecksumValid(VIP, CLIENT, 20));
        assertEquals(0, gateway.table().countInUse(), "the connection ended");
    }

    @Test
    void shouldAnswerUdpToAServiceWithoutBackendsWithPortUnreachable()
    {
        final Gateway gateway = gateway(List.of(Services.ServiceSpec.parse("udp:10.77.3.10:53=10.77.2.11:53@0")));
        final byte[] query = bytes(packets.udp(0, CLIENT, 6000, VIP, 53, 20));
        tun.inject(0, query);
        gateway.workers().get(0).doWork();
        final byte[] answer = tun.takeWritten(0);
        assertEquals(Ipv4Header.PROTO_ICMP, ip(answer).protocol());
        final IcmpHeader icmp = new IcmpHeader().wrap(new UnsafeBuffer(answer), Ipv4Header.MIN_LENGTH);
        assertEquals(IcmpHeader.DEST_UNREACHABLE, icmp.type());
        assertEquals(IcmpHeader.CODE_PORT_UNREACHABLE, icmp.code());
        assertTrue(icmp.isChecksumValid(answer.length - Ipv4Header.MIN_LENGTH));
        final byte[] quoted = new byte[Ipv4Header.MIN_LENGTH + UdpHeader.LENGTH];
        System.arraycopy(answer, Ipv4Header.MIN_LENGTH + IcmpHeader.EMBEDDED_OFFSET, quoted, 0, quoted.length);
        final byte[] original = new byte[quoted.length];
        System.arraycopy(query, 0, original, 0, original.length);
        assertArrayEquals(original, quoted, "the query is quoted as the client sent it");
    }

    private static void sweep(final Reaper reaper, final ConntrackTable table)
    {
        // the reaper takes a slice per duty cycle: enough cycles to cover the whole table
        for (int i = 0; i < 8; i++)
        {
            reaper.doWork();
        }
    }
}
