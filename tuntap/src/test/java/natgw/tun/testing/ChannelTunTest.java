package natgw.tun.testing;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

import natgw.tun.Packets;
import natgw.tun.TunQueue;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static natgw.tun.Packets.direct;
import static natgw.tun.Packets.directBuffers;
import static natgw.tun.Packets.ip;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChannelTunTest
{
    private static final int OFFSET = 10;

    private final ChannelTun tun = new ChannelTun("chtun0", 2, 1500, 4);
    private final UnsafeBuffer[] bufs = directBuffers(4, 2048);
    private final int[] sizes = new int[4];

    @Test
    void shouldReadInjectedPacketsAtOffsetOnTheirQueueOnly()
    {
        final byte[] a = udp("a");
        final byte[] b = udp("bb");
        tun.inject(1, a, b);

        assertEquals(0, tun.queue(0).read(bufs, sizes, OFFSET));
        assertEquals(2, tun.queue(1).read(bufs, sizes, OFFSET));
        assertArrayEquals(a, bytes(bufs[0], OFFSET, sizes[0]));
        assertArrayEquals(b, bytes(bufs[1], OFFSET, sizes[1]));
        assertEquals(0, tun.queue(1).read(bufs, sizes, OFFSET));
    }

    @Test
    void shouldReadAtMostBatchSizePackets()
    {
        for (int i = 0; i < 6; i++)
        {
            tun.inject(0, udp("p" + i));
        }

        assertEquals(4, tun.queue(0).batchSize());
        assertEquals(4, tun.queue(0).read(bufs, sizes, 0));
        assertEquals(2, tun.queue(0).read(bufs, sizes, 0));
    }

    @Test
    void shouldTruncateAPacketLongerThanTheBufferLikeTheKernel()
    {
        final byte[] big = udp("x".repeat(100));
        tun.inject(0, big);
        final UnsafeBuffer[] small = { direct(64) };

        assertEquals(1, tun.queue(0).read(small, sizes, OFFSET));
        assertEquals(64 - OFFSET, sizes[0]);
    }

    @Test
    void shouldKeepWhatTheGatewayWritesPerQueueInOrder()
    {
        final int n1 = Packets.udp(bufs[0], OFFSET, ip("10.0.0.1"), ip("10.0.0.2"), 1, 2, "one".getBytes());
        final int n2 = Packets.udp(bufs[1], OFFSET, ip("10.0.0.1"), ip("10.0.0.2"), 1, 2, "two".getBytes());
        sizes[0] = n1;
        sizes[1] = n2;

        assertEquals(2, tun.queue(1).write(bufs, sizes, OFFSET, 2));

        assertNull(tun.takeWritten(0));
        assertArrayEquals(bytes(bufs[0], OFFSET, n1), tun.takeWritten(1));
        final List<byte[]> rest = tun.drainWritten(1);
        assertEquals(1, rest.size());
        assertArrayEquals(bytes(bufs[1], OFFSET, n2), rest.get(0));
    }

    @Test
    void shouldRefuseAWrittenPacketThatIsNotIpLikeTheKernel()
    {
        sizes[0] = Packets.udp(bufs[0], 0, ip("10.0.0.1"), ip("10.0.0.2"), 1, 2, new byte[0]);
        bufs[1].putByte(0, (byte)0x25);
        sizes[1] = 20;
        sizes[2] = 0;

        assertEquals(1, tun.queue(0).write(bufs, sizes, 0, 3));
        assertEquals(2, tun.refusedWrites(0));
        assertEquals(1, tun.drainWritten().size());
    }

    @Test
    @Timeout(60)
    void shouldReturnFromAwaitReadableWhenAPacketIsInjected() throws Exception
    {
        final CountDownLatch waiting = new CountDownLatch(1);
        final AtomicBoolean result = new AtomicBoolean();
        final Thread worker = new Thread(() ->
        {
            waiting.countDown();
            result.set(tun.queue(0).awaitReadable(30_000));
        });
        worker.start();
        waiting.await();
        tun.inject(0, udp("wake"));
        worker.join(30_000);

        assertFalse(worker.isAlive());
        assertTrue(result.get());
    }

    @Test
    @Timeout(60)
    void shouldReturnFromAwaitReadableOnWakeupFromAnotherThread() throws Exception
    {
        final CountDownLatch waiting = new CountDownLatch(1);
        final AtomicBoolean result = new AtomicBoolean();
        final Thread worker = new Thread(() ->
        {
            waiting.countDown();
            result.set(tun.queue(0).awaitReadable(30_000));
        });
        worker.start();
        waiting.await();
        tun.queue(0).wakeup();
        worker.join(30_000);

        assertFalse(worker.isAlive());
        assertTrue(result.get(), "awaitReadable ran out its timeout: the wakeup was ignored");
    }

    @Test
    void shouldHonourAWakeupMadeBeforeAwaitReadableOnce()
    {
        tun.queue(0).wakeup();

        assertTrue(tun.queue(0).awaitReadable(10_000));
        assertFalse(tun.queue(0).awaitReadable(0));
    }

    @Test
    void shouldTimeOutAwaitReadableWhenNothingArrives()
    {
        assertFalse(tun.queue(0).awaitReadable(20));
    }

    @Test
    void shouldReadMinusOneAndWriteNothingAfterClose()
    {
        tun.inject(0, udp("late"));
        sizes[0] = Packets.udp(bufs[0], 0, ip("10.0.0.1"), ip("10.0.0.2"), 1, 2, new byte[0]);
        tun.close();

        assertEquals(-1, tun.queue(0).read(bufs, sizes, 0));
        assertEquals(0, tun.queue(0).write(bufs, sizes, 0, 1));
        assertTrue(tun.queue(0).awaitReadable(10_000));
    }

    @Test
    void shouldCloseOneQueueOnly()
    {
        tun.queue(1).close();

        assertEquals(-1, tun.queue(1).read(bufs, sizes, 0));
        assertEquals(0, tun.queue(0).read(bufs, sizes, 0));
    }

    @Test
    void shouldRefuseHeapBuffersAndPacketsBeyondTheBufferLikeTheRealQueue()
    {
        final UnsafeBuffer[] heap = { new UnsafeBuffer(new byte[2048]) };
        final int[] lengths = { 60 };
        tun.inject(0, udp("x"));

        assertThrows(IllegalArgumentException.class, () -> tun.queue(0).read(heap, lengths, 0));
        assertThrows(IllegalArgumentException.class, () -> tun.queue(0).write(heap, lengths, 0, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> tun.queue(0).write(new UnsafeBuffer[]{ direct(64) }, lengths, 8, 1));
    }

    @Test
    void shouldAllocateNothingWhenReadingIntoCallerBuffers()
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)java.lang.management.ManagementFactory.getThreadMXBean();
        final TunQueue queue = tun.queue(0);
        final byte[] packet = udp("x");
        for (int i = 0; i < 20_000; i++)
        {
            queue.read(bufs, sizes, 0);
        }
        tun.inject(0, packet, packet, packet);

        final long before = threads.getCurrentThreadAllocatedBytes();
        int read = 0;
        for (int i = 0; i < 100_000; i++)
        {
            read += queue.read(bufs, sizes, 0);
        }
        final long allocated = threads.getCurrentThreadAllocatedBytes() - before;

        assertEquals(3, read);
        assertTrue(allocated < 1024, "read allocated " + allocated + " bytes over 100k calls");
    }

    private static byte[] udp(final String payload)
    {
        final UnsafeBuffer buf = direct(2048);
        final int length = Packets.udp(buf, 0, ip("10.0.0.2"), ip("10.0.0.1"), 1000, 53, payload.getBytes());
        return bytes(buf, 0, length);
    }

    private static byte[] bytes(final UnsafeBuffer buf, final int offset, final int length)
    {
        final byte[] bytes = new byte[length];
        buf.getBytes(offset, bytes);
        return bytes;
    }
}
