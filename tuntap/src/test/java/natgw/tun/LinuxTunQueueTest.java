package natgw.tun;

import java.lang.management.ManagementFactory;

import natgw.tun.testing.TestNetns;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static natgw.tun.Packets.directBuffers;
import static natgw.tun.Packets.ip;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The hot path of the real queue: what it costs per call, and what it refuses. */
class LinuxTunQueueTest
{
    private static final int OFFSET = 16;
    private static final int WARM_UP = 30_000;
    private static final int MEASURED = 100_000;

    /**
     * Each round trip is four hot-path calls (wakeup, awaitReadable, write, read; more reads and awaits when
     * the reply is not back yet): an echo request written into the TUN, the kernel's echo reply read back.
     */
    @Test
    @Tag("root")
    @Timeout(300)
    void shouldAllocateNothingPerReadWriteAwaitReadableAndWakeup() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only(); LinuxTun tun = ns.call(() -> LinuxTun.open("ngwt0", 1, 1500)))
        {
            ns.ip("addr", "add", "10.98.0.1/24", "dev", "ngwt0");
            Packets.awaitAnswering(ns, tun, ip("10.98.0.2"), ip("10.98.0.1"));
            final TunQueue queue = tun.queue(0);
            final UnsafeBuffer[] out = directBuffers(1, 2048);
            final int[] outSizes = { Packets.echoRequest(out[0], OFFSET, ip("10.98.0.2"), ip("10.98.0.1"), 0x7777, 1) };
            final UnsafeBuffer[] in = directBuffers(queue.batchSize(), 2048);
            final int[] inSizes = new int[queue.batchSize()];
            final com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();

            roundTrips(queue, out, outSizes, in, inSizes, WARM_UP);

            final long startNs = System.nanoTime();
            final long before = threads.getCurrentThreadAllocatedBytes();
            final long replies = roundTrips(queue, out, outSizes, in, inSizes, MEASURED);
            final long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            final long elapsedNs = System.nanoTime() - startNs;

            System.out.printf("LinuxTunQueue: %d round trips (>= %d hot-path calls), %d replies, %d bytes allocated, %.2f us/round trip%n",
                MEASURED, 4L * MEASURED, replies, allocated, elapsedNs / 1000.0 / MEASURED);
            assertTrue(replies >= MEASURED, "every echo request should be answered: " + replies);
            assertTrue(allocated < 1024, allocated + " bytes allocated over " + MEASURED + " round trips");
        }
    }

    @Test
    @Tag("root")
    void shouldRefuseHeapBuffersAndPacketsBeyondTheBuffer() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only(); LinuxTun tun = ns.call(() -> LinuxTun.open("ngwt0", 1, 1500)))
        {
            final UnsafeBuffer[] heap = { new UnsafeBuffer(new byte[2048]) };
            final UnsafeBuffer[] direct = directBuffers(1, 64);
            final int[] sizes = { 60 };

            assertThrows(IllegalArgumentException.class, () -> tun.queue(0).read(heap, sizes, 0));
            assertThrows(IllegalArgumentException.class, () -> tun.queue(0).write(heap, sizes, 0, 1));
            assertThrows(IndexOutOfBoundsException.class, () -> tun.queue(0).write(direct, sizes, 8, 1));
            assertThrows(IndexOutOfBoundsException.class, () -> tun.queue(0).read(direct, sizes, 65));
        }
    }

    @Test
    @Tag("root")
    @Timeout(120)
    void shouldLetWorkersFinishCleanlyWhenTheDeviceIsClosedUnderThem() throws Exception
    {
        for (int round = 0; round < 20; round++)
        {
            try (TestNetns ns = TestNetns.createIpv4Only())
            {
                final LinuxTun tun = ns.call(() -> LinuxTun.open("ngwt0", 2, 1500));
                ns.ip("addr", "add", "10.98.0.1/24", "dev", "ngwt0");
                final Throwable[] failures = new Throwable[2];
                final Thread[] workers = new Thread[2];
                for (int q = 0; q < 2; q++)
                {
                    final int index = q;
                    workers[q] = new Thread(() ->
                    {
                        try
                        {
                            busyUntilClosed(tun.queue(index));
                        }
                        catch (final Throwable t)
                        {
                            failures[index] = t;
                        }
                    });
                    workers[q].start();
                }
                Thread.sleep(round % 5);

                tun.close();

                for (final Thread worker : workers)
                {
                    worker.join(30_000);
                    assertFalse(worker.isAlive(), "a worker did not see the close");
                }
                assertNull(failures[0]);
                assertNull(failures[1]);
                LinuxTunTest.awaitGone(ns, "ngwt0");
            }
        }
    }

    /** A worker loop: echo requests out, whatever comes in read, until read says the queue is closed. */
    private static void busyUntilClosed(final TunQueue queue)
    {
        final UnsafeBuffer[] out = directBuffers(1, 2048);
        final int[] outSizes = { Packets.echoRequest(out[0], OFFSET, ip("10.98.0.2"), ip("10.98.0.1"), 1, 1) };
        final UnsafeBuffer[] in = directBuffers(queue.batchSize(), 2048);
        final int[] inSizes = new int[queue.batchSize()];
        while (true)
        {
            queue.write(out, outSizes, OFFSET, 1);
            queue.awaitReadable(1);
            if (queue.read(in, inSizes, OFFSET) < 0)
            {
                return;
            }
            queue.wakeup();
        }
    }

    private static long roundTrips(
        final TunQueue queue, final UnsafeBuffer[] out, final int[] outSizes, final UnsafeBuffer[] in, final int[] inSizes,
        final int count)
    {
        long packets = 0;
        for (int i = 0; i < count; i++)
        {
            queue.wakeup();
            if (!queue.awaitReadable(0))
            {
                throw new AssertionError("wakeup did not make awaitReadable return true");
            }
            if (queue.write(out, outSizes, OFFSET, 1) != 1)
            {
                throw new AssertionError("the kernel refused the echo request");
            }
            int n;
            while (0 == (n = queue.read(in, inSizes, OFFSET)))
            {
                if (!queue.awaitReadable(30_000))
                {
                    throw new AssertionError("no echo reply within 30 s");
                }
            }
            if (n < 0)
            {
                throw new AssertionError("queue closed");
            }
            packets += n;
        }
        return packets;
    }
}
