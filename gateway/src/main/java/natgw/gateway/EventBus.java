package natgw.gateway;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;

import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.MessageHandler;
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
    static final int EVENT_LENGTH = 4 * 8 + 4 + 4;

    private final RingBuffer ring = new ManyToOneRingBuffer(
        new UnsafeBuffer(ByteBuffer.allocateDirect((1 << 20) + RingBufferDescriptor.TRAILER_LENGTH)));
    private final AtomicInteger listeners = new AtomicInteger();
    private volatile long lost;

    public void onEvent(final int type, final ConntrackTable table, final int entry, final int status)
    {
        if (listeners.get() == 0)
        {
            return;
        }
        final int index = ring.tryClaim(type + 1, EVENT_LENGTH);
        if (index <= 0)
        {
            lost++;
            return;
        }
        final var buffer = ring.buffer();
        buffer.putLong(index, table.tupleA(entry, ConntrackTable.ORIGINAL));
        buffer.putLong(index + 8, table.tupleB(entry, ConntrackTable.ORIGINAL));
        buffer.putLong(index + 16, table.tupleA(entry, ConntrackTable.REPLY));
        buffer.putLong(index + 24, table.tupleB(entry, ConntrackTable.REPLY));
        buffer.putInt(index + 32, status);
        buffer.putInt(index + 36, table.deadlineMs(entry));
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
        return lost;
    }

    /** Drains events: handler gets msgTypeId = event type + 1 and the fields as written above. */
    public int drain(final MessageHandler handler)
    {
        return ring.read(handler, 4096);
    }
}
