package natgw.perf.sys;

import java.util.concurrent.TimeUnit;

/** Sleeping to a point on the {@link System#nanoTime()} clock, for the load generators' and scenarios' phases. */
public final class Sleep
{
    private Sleep()
    {
    }

    /** Returns once {@code deadlineNs} (a {@link System#nanoTime()} value) has passed, at once if it has. */
    public static void until(final long deadlineNs) throws InterruptedException
    {
        for (long leftNs = deadlineNs - System.nanoTime(); leftNs > 0; leftNs = deadlineNs - System.nanoTime())
        {
            TimeUnit.NANOSECONDS.sleep(leftNs);
        }
    }
}
