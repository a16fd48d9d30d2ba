package natgw.gateway;

import java.util.concurrent.atomic.AtomicLong;

import org.agrona.concurrent.Agent;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SleepingMillisIdleStrategy;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.StatusDescriptor;

/**
 * Ends expired connections in the background (Linux: the conntrack gc worker): a slice of the entries per duty
 * cycle, so workers never pause. Only entries below the table's {@link ConntrackTable#highWater high-water mark} can
 * be in use, so a sweep covers those in {@code cyclesPerSweep} cycles of at least {@value #MIN_SLICE} entries,
 * and the runner sleeps {@value #CYCLE_MS} ms after every cycle ({@link #pace}), whether it ended anything or not:
 * a burst of expiries is not a reason to compete with the workers for a CPU, since the sweep already reaches every
 * entry in {@code cyclesPerSweep} cycles.
 */
public final class Reaper implements Agent
{
    static final int CYCLE_MS = 40;
    static final int MIN_SLICE = 256;

    private final ConntrackTable table;
    private final NanoClock clock;
    private final int cyclesPerSweep;
    private final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
    private final AtomicLong expired = new AtomicLong();
    private int next;

    /**
     * @param cyclesPerSweep cycles a sweep of the entries in use takes; 1 sweeps them all in each {@link #doWork}.
     */
    public Reaper(final ConntrackTable table, final NanoClock clock, final int cyclesPerSweep)
    {
        this.table = table;
        this.clock = clock;
        this.cyclesPerSweep = cyclesPerSweep;
    }

    /** The reaper runner's idle strategy: {@value #CYCLE_MS} ms of sleep after each cycle. */
    public static IdleStrategy pace()
    {
        final SleepingMillisIdleStrategy sleep = new SleepingMillisIdleStrategy(CYCLE_MS);
        return new IdleStrategy()
        {
            public void idle(final int workCount)
            {
                sleep.idle();
            }

            public void idle()
            {
                sleep.idle();
            }

            public void reset()
            {
            }

            public String alias()
            {
                return "reaper-pace";
            }
        };
    }

    public int doWork()
    {
        final long nowNs = clock.nanoTime();
        table.clockSeen(nowNs);
        final int nowMs = table.toTableMs(nowNs);
        final int highWater = table.highWater();
        final int slice = Math.min(highWater, Math.max(MIN_SLICE, (highWater + cyclesPerSweep - 1) / cyclesPerSweep));
        int ended = 0;
        for (int i = 0; i < slice; i++)
        {
            final int entry = next < highWater ? next : 0;
            next = entry + 1;
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
