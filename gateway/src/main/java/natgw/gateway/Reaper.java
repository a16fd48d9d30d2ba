package natgw.gateway;

import java.util.concurrent.atomic.AtomicLong;

import org.agrona.concurrent.Agent;
import org.agrona.concurrent.NanoClock;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.StatusDescriptor;

/**
 * Ends expired connections in the background (Linux: the conntrack gc worker): a slice of the entry
 * array per duty cycle, so workers never pause and a full sweep of the table takes
 * {@code capacity / slice} cycles.
 */
public final class Reaper implements Agent
{
    private final ConntrackTable table;
    private final NanoClock clock;
    private final int slice;
    private final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
    private final AtomicLong expired = new AtomicLong();
    private int next;

    public Reaper(final ConntrackTable table, final NanoClock clock, final int slice)
    {
        this.table = table;
        this.clock = clock;
        this.slice = slice;
    }

    public int doWork()
    {
        final long nowNs = clock.nanoTime();
        table.clockSeen(nowNs);
        final int nowMs = table.toTableMs(nowNs);
        final int capacity = table.capacity();
        int ended = 0;
        for (int i = 0; i < slice; i++)
        {
            final int entry = next;
            next = next + 1 == capacity ? 0 : next + 1;
            final int status = table.status(entry);
            if (StatusDescriptor.phase(status) == StatusDescriptor.PHASE_CONFIRMED &&
                table.deadlineMs(entry) - nowMs < 0 &&
                table.kill(cursor, entry, status))
            {
                ended++;
            }
        }
        expired.addAndGet(ended);
        return ended;
    }

    /** Connections ended because their timeout passed. */
    public long expired()
    {
        return expired.get();
    }

    /** Kills every connection (conntrack -F); returns how many. */
    public int flush()
    {
        return table.flush(new ConntrackTable.Cursor());
    }

    public String roleName()
    {
        return "natgw-reaper";
    }
}
