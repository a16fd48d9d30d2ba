package natgw.core.conntrack;

import java.nio.ByteBuffer;

import org.agrona.BitUtil;
import org.agrona.concurrent.UnsafeBuffer;

import natgw.core.packet.DropReason;

/**
 * One worker's counters: written by that worker only (plain read, ordered write, as Aeron's
 * single-writer counters), read by any thread with volatile reads. Conntrack counters first, then one
 * slot per drop reason. Each worker's block starts on its own cache lines, so workers never share one.
 */
public final class WorkerCounters
{
    private static final int DROP_BASE = ConntrackCounter.COUNT;
    private static final int SLOTS = DROP_BASE + DropReason.COUNT;

    private final UnsafeBuffer buffer;
    private final int worker;

    public WorkerCounters(final int worker)
    {
        this.worker = worker;
        this.buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(
            BitUtil.align(SLOTS * 8, BitUtil.CACHE_LINE_LENGTH) + 2 * BitUtil.CACHE_LINE_LENGTH));
    }

    public int worker()
    {
        return worker;
    }

    public void increment(final ConntrackCounter counter)
    {
        add(counter.id(), 1);
    }

    public void add(final ConntrackCounter counter, final long delta)
    {
        add(counter.id(), delta);
    }

    public void drop(final DropReason reason)
    {
        add(DROP_BASE + reason.id(), 1);
        add(ConntrackCounter.DROPPED.id(), 1);
    }

    private void add(final int slot, final long delta)
    {
        final int offset = BitUtil.CACHE_LINE_LENGTH + slot * 8;
        buffer.putLongOrdered(offset, buffer.getLong(offset) + delta);
    }

    public long get(final ConntrackCounter counter)
    {
        return buffer.getLongVolatile(BitUtil.CACHE_LINE_LENGTH + counter.id() * 8);
    }

    public long get(final DropReason reason)
    {
        return buffer.getLongVolatile(BitUtil.CACHE_LINE_LENGTH + (DROP_BASE + reason.id()) * 8);
    }

    /** {@code cpu=N found=... } as {@code conntrack -S} prints a CPU's line. */
    public String statsLine()
    {
        final StringBuilder sb = new StringBuilder(256).append("cpu=").append(worker);
        for (final ConntrackCounter counter : ConntrackCounter.values())
        {
            sb.append(' ').append(counter.label()).append('=').append(get(counter));
        }
        for (final DropReason reason : DropReason.values())
        {
            final long n = get(reason);
            if (n != 0)
            {
                sb.append(" drop_").append(reason.label()).append('=').append(n);
            }
        }
        return sb.toString();
    }
}
