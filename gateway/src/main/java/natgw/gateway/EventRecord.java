package natgw.gateway;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import natgw.core.conntrack.ConntrackEvents;
import natgw.core.conntrack.ConntrackTable;

/**
 * The layout of one connection event in the {@link EventBus} ring: what {@code conntrack -E} prints of it, taken
 * from the table when the event happens (the entry may be reused by the time the control thread reads it).
 * <pre>
 *   0  original tuple (addresses, ports) 32  status                      40  wall clock, microseconds
 *  16  reply tuple (addresses, ports)    36  timeout left (s), as then   48  packets, bytes original; packets, bytes reply (DESTROY)
 * </pre>
 */
public final class EventRecord
{
    static final int ORIGINAL_ADDRESSES_OFFSET = 0;
    static final int ORIGINAL_PORTS_OFFSET = 8;
    static final int REPLY_ADDRESSES_OFFSET = 16;
    static final int REPLY_PORTS_OFFSET = 24;
    static final int STATUS_OFFSET = 32;
    static final int TIMEOUT_OFFSET = 36;
    static final int TIME_OFFSET = 40;
    static final int COUNTERS_OFFSET = 48;
    public static final int LENGTH = COUNTERS_OFFSET + 4 * 8;

    private DirectBuffer buffer;
    private int offset;

    private EventRecord()
    {
    }

    /** Writes the event of {@code entry} at {@code offset}; counters only for a DESTROY. */
    static void write(
        final MutableDirectBuffer buffer, final int offset, final int type, final ConntrackTable table, final int entry,
        final int status, final int nowMs, final long wallClockUs)
    {
        buffer.putLong(offset + ORIGINAL_ADDRESSES_OFFSET, table.tupleAddresses(entry, ConntrackTable.ORIGINAL));
        buffer.putLong(offset + ORIGINAL_PORTS_OFFSET, table.tuplePorts(entry, ConntrackTable.ORIGINAL));
        buffer.putLong(offset + REPLY_ADDRESSES_OFFSET, table.tupleAddresses(entry, ConntrackTable.REPLY));
        buffer.putLong(offset + REPLY_PORTS_OFFSET, table.tuplePorts(entry, ConntrackTable.REPLY));
        buffer.putInt(offset + STATUS_OFFSET, status);
        // rounded: the deadline was set from the worker's batch clock, a few ms before this reading; the kernel's
        // event shows the timeout just set (120, not 119)
        buffer.putInt(offset + TIMEOUT_OFFSET, (int)Math.max(0, (table.deadlineMs(entry) - nowMs + 500) / 1000));
        buffer.putLong(offset + TIME_OFFSET, wallClockUs);
        final boolean destroy = type == ConntrackEvents.DESTROY;
        for (int dir = 0; dir < 2; dir++)
        {
            buffer.putLong(offset + COUNTERS_OFFSET + dir * 16, destroy ? table.packets(entry, dir) : 0);
            buffer.putLong(offset + COUNTERS_OFFSET + dir * 16 + 8, destroy ? table.bytes(entry, dir) : 0);
        }
    }

    /** A reader over records: {@link #wrap} it on one, then read. */
    public static EventRecord reader()
    {
        return new EventRecord();
    }

    public EventRecord wrap(final DirectBuffer buffer, final int offset)
    {
        this.buffer = buffer;
        this.offset = offset;
        return this;
    }

    public long originalAddresses()
    {
        return buffer.getLong(offset + ORIGINAL_ADDRESSES_OFFSET);
    }

    public long originalPorts()
    {
        return buffer.getLong(offset + ORIGINAL_PORTS_OFFSET);
    }

    public long replyAddresses()
    {
        return buffer.getLong(offset + REPLY_ADDRESSES_OFFSET);
    }

    public long replyPorts()
    {
        return buffer.getLong(offset + REPLY_PORTS_OFFSET);
    }

    public int status()
    {
        return buffer.getInt(offset + STATUS_OFFSET);
    }

    /** Seconds the connection had left when the event happened, as the kernel's event shows it. */
    public int timeoutSeconds()
    {
        return buffer.getInt(offset + TIMEOUT_OFFSET);
    }

    public long wallClockUs()
    {
        return buffer.getLong(offset + TIME_OFFSET);
    }

    public long packets(final int dir)
    {
        return buffer.getLong(offset + COUNTERS_OFFSET + dir * 16);
    }

    public long bytes(final int dir)
    {
        return buffer.getLong(offset + COUNTERS_OFFSET + dir * 16 + 8);
    }
}
