package natgw.gateway;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.MessageHandler;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.ringbuffer.RingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;

import natgw.core.conntrack.ConntrackEvents;
import natgw.core.conntrack.ConntrackTable;

/**
 * Carries connection events from workers and the reaper to {@code conntrack -E} listeners through a
 * many-to-one ring buffer: a claim and a few stores per event, nothing allocated, and a single volatile
 * read when nobody listens. When the ring is full, events are lost and counted, never waited for.
 */
public final class EventBus implements ConntrackEvents
{
    private final RingBuffer ring = new ManyToOneRingBuffer(
        new UnsafeBuffer(ByteBuffer.allocateDirect((1 << 20) + RingBufferDescriptor.TRAILER_LENGTH)));
    private final AtomicInteger listeners = new AtomicInteger();
    private final AtomicLong lost = new AtomicLong();
    private final NanoClock clock;

    /** @param clock the gateway's clock, the one the table's deadlines count on. */
    public EventBus(final NanoClock clock)
    {
        this.clock = clock;
    }

    public void onEvent(final int type, final ConntrackTable table, final int entry, final int status)
    {
        if (listeners.get() == 0)
        {
            return;
        }
        final int index = ring.tryClaim(type + 1, EventRecord.LENGTH);
        if (index <= 0)
        {
            lost.incrementAndGet(); // several workers lose events at once: a plain ++ would lose counts too
            return;
        }
        EventRecord.write(ring.buffer(), index, type, table, entry, status, table.toTableMs(clock.nanoTime()),
            System.currentTimeMillis() * 1000);
        ring.commit(index);
    }

    public void addListener()
    {
        listeners.incrementAndGet();
    }

    public void removeListener()
    {
        listeners.decrementAndGet();
    }

    public long lost()
    {
        return lost.get();
    }

    /** Drains events: handler gets msgTypeId = event type + 1 and an {@link EventRecord} at index. */
    public int drain(final MessageHandler handler)
    {
        return ring.read(handler, 4096);
    }
}
