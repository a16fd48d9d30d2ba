package natgw.gateway;

import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.NanoClock;

import natgw.tun.TunQueue;

/**
 * When a worker found nothing to do: first spin for up to {@code busyPollNs} (the agent calls {@code doWork}
 * again, a non-blocking read), then sleep in poll(2) on the worker's queue. Sleeping costs no CPU and wakes as
 * soon as the kernel queues a packet, but the wake-up itself takes the scheduler's time; a short spin catches
 * the next packet of a burst without it, at the price of a core kept busy that long. {@link TunQueue#wakeup()}
 * ends the wait.
 */
final class TunIdleStrategy implements IdleStrategy
{
    /** The longest spin {@code natgw run --busy-poll-us} accepts. */
    static final long MAX_BUSY_POLL_US = 1_000_000;

    private final TunQueue queue;
    private final long timeoutMs;
    private final long busyPollNs;
    private final NanoClock clock;
    private long idleSinceNs;
    private boolean spinning;

    TunIdleStrategy(final TunQueue queue, final long timeoutMs)
    {
        this(queue, timeoutMs, 0, System::nanoTime);
    }

    TunIdleStrategy(final TunQueue queue, final long timeoutMs, final long busyPollNs, final NanoClock clock)
    {
        this.queue = queue;
        this.timeoutMs = timeoutMs;
        this.busyPollNs = busyPollNs;
        this.clock = clock;
    }

    public void idle(final int workCount)
    {
        if (workCount > 0)
        {
            spinning = false;
            return;
        }
        idle();
    }

    public void idle()
    {
        if (busyPollNs > 0)
        {
            final long nowNs = clock.nanoTime();
            if (!spinning)
            {
                spinning = true;
                idleSinceNs = nowNs;
                return;
            }
            if (nowNs - idleSinceNs < busyPollNs)
            {
                Thread.onSpinWait();
                return;
            }
        }
        spinning = false;
        queue.awaitReadable(timeoutMs);
    }

    public void reset()
    {
        spinning = false;
    }

    public String alias()
    {
        return "tun-poll";
    }
}
