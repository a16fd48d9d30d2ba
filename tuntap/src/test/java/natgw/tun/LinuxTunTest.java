package natgw.tun;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import natgw.tun.testing.TestNetns;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static natgw.tun.Packets.ICMP_ECHO_REPLY;
import static natgw.tun.Packets.PROTO_ICMP;
import static natgw.tun.Packets.PROTO_UDP;
import static natgw.tun.Packets.directBuffers;
import static natgw.tun.Packets.ip;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real device, in a throw-away namespace. Tagged "root": on a machine without root these fail with
 * {@link TestNetns#ensureAvailable()}'s message rather than skip.
 */
class LinuxTunTest
{
    private static final String TUN = "ngwt0";
    private static final String TUN_ADDRESS = "10.99.0.1";
    private static final String PEER = "10.99.0.2";
    private static final int OFFSET = 16;
    private static final long DEADLINE_MS = 30_000;

    private final UnsafeBuffer[] bufs = directBuffers(LinuxTun.BATCH_SIZE, 2048);
    private final int[] sizes = new int[LinuxTun.BATCH_SIZE];

    @Test
    @Tag("root")
    void shouldReadWhatTheKernelRoutesIntoTheTun() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only(); LinuxTun tun = openWithAddress(ns, 2))
        {
            ns.run(() ->
            {
                try (DatagramChannel socket = DatagramChannel.open(StandardProtocolFamily.INET))
                {
                    socket.send(ByteBuffer.wrap("hello tun".getBytes(StandardCharsets.US_ASCII)), new InetSocketAddress(PEER, 9999));
                }
            });

            final int length = receive(tun, PROTO_UDP, 9999);
            assertEquals(ip(TUN_ADDRESS), Packets.source(bufs[0], OFFSET));
            assertEquals(ip(PEER), Packets.destination(bufs[0], OFFSET));
            final byte[] payload = new byte[length - 28];
            bufs[0].getBytes(OFFSET + 28, payload);
            assertEquals("hello tun", new String(payload, StandardCharsets.US_ASCII));
        }
    }

    @Test
    @Tag("root")
    void shouldDeliverAWrittenPacketToTheKernel() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only(); LinuxTun tun = openWithAddress(ns, 2))
        {
            try (DatagramSocket socket = ns.call(() -> new DatagramSocket(new InetSocketAddress(TUN_ADDRESS, 7777))))
            {
                socket.setSoTimeout((int)DEADLINE_MS);
                sizes[0] = Packets.udp(bufs[0], OFFSET, ip(PEER), ip(TUN_ADDRESS), 5555, 7777, "from the gateway".getBytes());

                assertEquals(1, tun.queue(1).write(bufs, sizes, OFFSET, 1));

                final DatagramPacket received = new DatagramPacket(new byte[2048], 2048);
                socket.receive(received);
                assertEquals("from the gateway", new String(received.getData(), 0, received.getLength()));
                assertEquals(new InetSocketAddress(PEER, 5555), received.getSocketAddress());
            }
        }
    }

    @Test
    @Tag("root")
    void shouldReceiveTheKernelsEchoReplyToAnEchoRequestWrittenIntoTheTun() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only(); LinuxTun tun = openWithAddress(ns, 2))
        {
            sizes[0] = Packets.echoRequest(bufs[0], OFFSET, ip(PEER), ip(TUN_ADDRESS), 0x4242, 1);
            assertEquals(1, tun.queue(0).write(bufs, sizes, OFFSET, 1));

            receive(tun, PROTO_ICMP, -1);
            assertEquals(ICMP_ECHO_REPLY, Packets.icmpType(bufs[0], OFFSET));
            assertEquals(0x4242, Packets.icmpId(bufs[0], OFFSET));
            assertEquals(ip(PEER), Packets.destination(bufs[0], OFFSET));
        }
    }

    @Test
    @Tag("root")
    void shouldRefuseAWrittenPacketThatIsNotIpAndWriteTheRest() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only(); LinuxTun tun = openWithAddress(ns, 1))
        {
            bufs[0].setMemory(OFFSET, 40, (byte)0x25);
            sizes[0] = 40;
            sizes[1] = Packets.echoRequest(bufs[1], OFFSET, ip(PEER), ip(TUN_ADDRESS), 7, 1);

            assertEquals(1, tun.queue(0).write(bufs, sizes, OFFSET, 2));
            receive(tun, PROTO_ICMP, -1);
            assertEquals(ICMP_ECHO_REPLY, Packets.icmpType(bufs[0], OFFSET));
            assertEquals(7, Packets.icmpId(bufs[0], OFFSET), "the answer to the echo written after the refused packet");
        }
    }

    @Test
    @Tag("root")
    void shouldCreateAMultiQueueDeviceWithTheMtuUpAndOneNonBlockingFdPerQueue() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only(); LinuxTun tun = ns.call(() -> LinuxTun.open(TUN, 3, 1400)))
        {
            final String link = ns.ip("-d", "link", "show", TUN);
            assertTrue(link.contains("mtu 1400"), link);
            assertTrue(link.matches("(?s).*<[^>]*\\bUP\\b[^>]*>.*"), link);
            assertTrue(link.contains("tun type tun pi off vnet_hdr off multi_queue numqueues 3"), link);
            assertFalse(link.contains("persist on"), link);

            assertTrue(tun.createdHere());
            assertEquals(TUN, tun.name());
            assertEquals(3, tun.queueCount());
            assertEquals(1400, tun.mtu());
            for (int q = 0; q < 3; q++)
            {
                final int flags = Native.libc().fcntl(((LinuxTunQueue)tun.queue(q)).fd(), Native.F_GETFL, 0);
                assertTrue((flags & Native.O_NONBLOCK) != 0, "queue " + q + " fd is blocking");
                assertEquals(0, tun.queue(q).read(bufs, sizes, OFFSET), "nothing to read yet, and no blocking");
            }
        }
    }

    @Test
    @Tag("root")
    void shouldResolveANameTemplate() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only(); LinuxTun tun = ns.call(() -> LinuxTun.open("ngwt%d", 2, 1500)))
        {
            assertTrue(tun.name().matches("ngwt\\d+"), tun.name());
            assertTrue(ns.ip("-d", "link", "show", tun.name()).contains("numqueues 2"));
        }
    }

    @Test
    @Tag("root")
    @Timeout(60)
    void shouldReturnFromAwaitReadableOnWakeup() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only(); LinuxTun tun = ns.call(() -> LinuxTun.open(TUN, 1, 1500)))
        {
            final TunQueue queue = tun.queue(0);

            assertAwaitEndedBy(queue, queue::wakeup);
        }
    }

    @Test
    @Tag("root")
    void shouldHonourAWakeupMadeBeforeAwaitReadableOnce() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only(); LinuxTun tun = ns.call(() -> LinuxTun.open(TUN, 1, 1500)))
        {
            tun.queue(0).wakeup();
            tun.queue(0).wakeup();

            assertTrue(tun.queue(0).awaitReadable(10_000));
            assertFalse(tun.queue(0).awaitReadable(0));
        }
    }

    @Test
    @Tag("root")
    void shouldTimeOutAwaitReadableWhenNothingArrives() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only(); LinuxTun tun = ns.call(() -> LinuxTun.open(TUN, 1, 1500)))
        {
            final long start = System.nanoTime();
            assertFalse(tun.queue(0).awaitReadable(50));
            assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(40));
        }
    }

    @Test
    @Tag("root")
    @Timeout(60)
    void shouldEndAnAwaitInProgressWhenClosedFromAnotherThreadAndThenReadMinusOne() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only(); LinuxTun tun = ns.call(() -> LinuxTun.open(TUN, 2, 1500)))
        {
            assertAwaitEndedBy(tun.queue(1), tun::close);

            assertEquals(-1, tun.queue(1).read(bufs, sizes, OFFSET));
            assertEquals(0, tun.queue(1).write(bufs, sizes, OFFSET, 1));
            assertTrue(tun.queue(1).awaitReadable(10_000));
            tun.queue(1).wakeup();
        }
    }

    @Test
    @Tag("root")
    void shouldRemoveTheDeviceItCreatedOnClose() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only())
        {
            final LinuxTun tun = ns.call(() -> LinuxTun.open(TUN, 2, 1500));
            assertTrue(ns.exec("ip", "link", "show", TUN).ok());

            tun.close();
            tun.close();

            awaitGone(ns, TUN);
        }
    }

    @Test
    @Tag("root")
    void shouldAttachToAPreExistingDeviceAndLeaveItOnClose() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only())
        {
            ns.ip("tuntap", "add", "dev", "ngwtp0", "mode", "tun", "multi_queue");
            try (LinuxTun tun = ns.call(() -> LinuxTun.open("ngwtp0", 2, 1500)))
            {
                assertFalse(tun.createdHere());
                assertTrue(ns.ip("-d", "link", "show", "ngwtp0").contains("numqueues 2"));
            }

            final String link = ns.ip("-d", "link", "show", "ngwtp0");
            assertTrue(link.contains("numqueues 0"), link);
            assertTrue(link.contains("persist on"), link);
        }
    }

    @Test
    @Tag("root")
    @Timeout(30)
    void shouldReadMinusOneOnceTheDeviceIsDeletedUnderIt() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only(); LinuxTun tun = ns.call(() -> LinuxTun.open(TUN, 1, 1500)))
        {
            ns.ip("link", "del", TUN);

            assertTrue(tun.queue(0).awaitReadable(10_000));
            assertEquals(-1, tun.queue(0).read(bufs, sizes, OFFSET));
            sizes[0] = Packets.echoRequest(bufs[0], OFFSET, ip(PEER), ip(TUN_ADDRESS), 1, 1);
            assertEquals(0, tun.queue(0).write(bufs, sizes, OFFSET, 1));
        }
    }

    @Test
    void shouldRefuseAnOverLongNameBeforeAnySystemCall()
    {
        final IllegalArgumentException ex = assertThrows(
            IllegalArgumentException.class, () -> LinuxTun.open("ngwt-much-too-long", 1, 1500));

        assertTrue(ex.getMessage().contains("'ngwt-much-too-long'"), ex.getMessage());
        assertTrue(ex.getMessage().contains("at most 15"), ex.getMessage());
    }

    @Test
    void shouldRefuseBadQueueCountsMtusAndNames()
    {
        assertThrows(IllegalArgumentException.class, () -> LinuxTun.open("ngwt0", 0, 1500));
        assertThrows(IllegalArgumentException.class, () -> LinuxTun.open("ngwt0", 257, 1500));
        assertThrows(IllegalArgumentException.class, () -> LinuxTun.open("ngwt0", 1, 67));
        assertThrows(IllegalArgumentException.class, () -> LinuxTun.open("ngwt0", 1, 65536));
        assertThrows(IllegalArgumentException.class, () -> LinuxTun.open("ng/wt", 1, 1500));
        assertThrows(IllegalArgumentException.class, () -> LinuxTun.open("ng wt", 1, 1500));
        assertThrows(IllegalArgumentException.class, () -> LinuxTun.open("", 1, 1500));
    }

    @Test
    @Tag("root")
    void shouldExplainAMissingCloneDevice() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only())
        {
            final TunException ex = assertThrows(TunException.class,
                () -> ns.call(() -> LinuxTun.open("/nonexistent/net/tun", TUN, 1, 1500, false, TunSteering.KERNEL, new int[0])));

            assertEquals(Native.ENOENT, ex.errno());
            assertEquals(TUN, ex.deviceName());
            assertTrue(ex.getMessage().contains("'" + TUN + "'"), ex.getMessage());
            assertTrue(ex.getMessage().contains("ENOENT (No such file or directory)"), ex.getMessage());
            assertTrue(ex.getMessage().contains("modprobe tun"), ex.getMessage());
        }
    }

    @Test
    @Tag("root")
    void shouldExplainANameTakenByADeviceThatIsNotAMultiQueueTun() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only())
        {
            ns.ip("tuntap", "add", "dev", "ngwtsq", "mode", "tun");

            final TunException ex = assertThrows(TunException.class, () -> ns.call(() -> LinuxTun.open("ngwtsq", 2, 1500)));

            assertEquals(Native.EINVAL, ex.errno());
            assertTrue(ex.getMessage().contains("'ngwtsq'"), ex.getMessage());
            assertTrue(ex.getMessage().contains("EINVAL (Invalid argument)"), ex.getMessage());
            assertTrue(ex.getMessage().contains("not a multi-queue TUN"), ex.getMessage());
        }
    }

    @Test
    @Tag("root")
    @Timeout(60)
    void shouldSayItNeedsCapNetAdminWhenRunWithoutCapabilities() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only())
        {
            final Process child = ChildJvm.start(ns,
                List.of("setpriv", "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all"), "open-tun", TUN);
            try
            {
                final String line = ChildJvm.awaitLine(child, "errno=");

                assertTrue(line.contains("'" + TUN + "'"), line);
                assertTrue(line.contains("EPERM (Operation not permitted)"), line);
                assertTrue(line.contains("needs root or CAP_NET_ADMIN"), line);
            }
            finally
            {
                ChildJvm.kill(child);
            }
            assertFalse(ns.exec("ip", "link", "show", TUN).ok());
        }
    }

    /** Opens a TUN in {@code ns} with {@value #TUN_ADDRESS}/24, IPv6 off so that only our packets show up. */
    static LinuxTun openWithAddress(final TestNetns ns, final int queues) throws Exception
    {
        return openWithAddress(ns, queues, false);
    }

    static LinuxTun openWithAddress(final TestNetns ns, final int queues, final boolean offloads) throws Exception
    {
        return openWithAddress(ns, queues, offloads, TunSteering.KERNEL);
    }

    static LinuxTun openWithAddress(final TestNetns ns, final int queues, final boolean offloads, final TunSteering steering)
        throws Exception
    {
        return openWithAddress(ns, queues, offloads, steering, new int[0]);
    }

    static LinuxTun openWithAddress(
        final TestNetns ns, final int queues, final boolean offloads, final TunSteering steering, final int[] pool) throws Exception
    {
        ns.disableIpv6();
        final LinuxTun tun = ns.call(() -> LinuxTun.open(TUN, queues, 1500, offloads, steering, pool));
        try
        {
            ns.ip("addr", "add", TUN_ADDRESS + "/24", "dev", TUN);
            if (!offloads)
            {
                Packets.awaitAnswering(ns, tun, ip(PEER), ip(TUN_ADDRESS));
            }
            return tun;
        }
        catch (final RuntimeException ex)
        {
            tun.close();
            throw ex;
        }
    }

    /**
     * Reads every queue until an IPv4 packet of {@code protocol} (to UDP port {@code port} if not -1) arrives;
     * leaves it in {@code bufs[0]} at {@link #OFFSET} and returns its length.
     */
    private int receive(final TunDevice tun, final int protocol, final int port)
    {
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MS);
        while (System.nanoTime() < deadline)
        {
            for (int q = 0; q < tun.queueCount(); q++)
            {
                final TunQueue queue = tun.queue(q);
                queue.awaitReadable(20);
                final int n = queue.read(bufs, sizes, OFFSET);
                for (int i = 0; i < n; i++)
                {
                    if (Packets.isIpv4(bufs[i], OFFSET, sizes[i]) && Packets.protocol(bufs[i], OFFSET) == protocol &&
                        (port < 0 || Packets.udpDestinationPort(bufs[i], OFFSET) == port))
                    {
                        if (i != 0)
                        {
                            bufs[0].putBytes(0, bufs[i], 0, OFFSET + sizes[i]);
                        }
                        return sizes[i];
                    }
                }
            }
        }
        throw new AssertionError("no protocol " + protocol + " packet came out of " + tun.name() + " within " + DEADLINE_MS + " ms");
    }

    /**
     * An await on another thread, then {@code interrupt}: the await must end with true (a possible packet), not run
     * out its timeout and return false, however long a busy machine took to get there.
     */
    private static void assertAwaitEndedBy(final TunQueue queue, final Runnable interrupt) throws Exception
    {
        final CountDownLatch started = new CountDownLatch(1);
        final AtomicInteger result = new AtomicInteger(-1);
        final Thread worker = new Thread(() ->
        {
            started.countDown();
            result.set(queue.awaitReadable(30_000) ? 1 : 0);
        });
        worker.start();
        started.await();
        Thread.sleep(50); // let the worker reach poll(2); if it has not, the await returns at once anyway
        interrupt.run();
        worker.join(40_000);
        assertFalse(worker.isAlive());
        assertEquals(1, result.get(), "awaitReadable should report a possible packet after a wakeup (0: it timed out)");
    }

    static void awaitGone(final TestNetns ns, final String device) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MS);
        while (ns.exec("ip", "link", "show", device).ok())
        {
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError(device + " still exists " + DEADLINE_MS + " ms after close");
            }
            Thread.sleep(10);
        }
    }
}
