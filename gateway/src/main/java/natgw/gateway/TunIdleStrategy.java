package natgw.gateway;

import java.util.function.BooleanSupplier;

import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.NanoClock;

import natgw.tun.TunQueue;

/**
 * When a worker found nothing to do: first spin for up to {@code busyPollNs} (the agent calls {@code doWork}
 * again, a non-blocking read), then sleep in poll(2) on the worker's queue. Sleeping costs no CPU and wakes as
 * soon as the kernel queues a packet, but the wake-up itself takes the scheduler's time; a short spin catches
 * the next packet of a burst without it, at the price of a core kept busy that long. {@link TunQueue#wakeup()}
 * ends the wait.
 * <p>
 * After work, the agent would call {@code doWork} again at once; when the worker's last read already found its
 * queue empty ({@code drained}), that read could only fail with EAGAIN, and the worker goes straight to the
 * idle steps instead: one syscall fewer for every wake-up that brings a short batch.
 */
final class TunIdleStrategy implements IdleStrategy
{
    /** The longest spin {@code natgw run --busy-poll-us} accepts. */
    static final long MAX_BUSY_POLL_US = 1_000_000;

    private final TunQueue queue;
    private final long timeoutMs;
    private final long busyPollNs;
    private final NanoClock clock;
    private final BooleanSupplier drained;
    private long idleSinceNs;
    private boolean spinning;

    TunIdleStrategy(final TunQueue queue, final long timeoutMs)
    {
        this(queue, timeoutMs, 0, System::nanoTime, () -> false);
    }

    /** @param drained true when the work just done ended on an empty queue. */
    TunIdleStrategy(
        final TunQueue queue, final long timeoutMs, final long busyPollNs, final NanoClock clock, final BooleanSupplier drained)
    {
        this.drained = drained;
        this.queue = queue;
        this.timeoutMs = timeoutMs;
        this.busyPollNs = busyPollNs;
        this.clock = clock;
    }

    /**
     * The idle strategy of {@code worker}'s thread. Every worker's, the warm-up's included, is made here: its
     * {@code drained} signal is then one lambda class everywhere, and the compiled {@link #idle(int)} of the warm-up
     * is not thrown out by a class check at the gateway's first packet.
     */
    static TunIdleStrategy forWorker(
        final TunQueue queue, final long timeoutMs, final long busyPollNs, final NanoClock clock, final Worker worker)
    {
        return new TunIdleStrategy(queue, timeoutMs, busyPollNs, clock, worker::drained);
    }

    public void idle(final int workCount)
    {
        if (workCount > 0)
        {
            spinning = false;
            if (!drained.getAsBoolean())
            {
                return;
            }
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
