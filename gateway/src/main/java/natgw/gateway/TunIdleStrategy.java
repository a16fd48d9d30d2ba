package natgw.gateway;

import org.agrona.concurrent.IdleStrategy;

import natgw.tun.TunQueue;

/**
 * Sleeps in poll(2) on the worker's queue when there was nothing to do: a worker costs no CPU when
 * idle and wakes as soon as the kernel queues a packet. {@link TunQueue#wakeup()} ends the wait.
 */
final class TunIdleStrategy implements IdleStrategy
{
    private final TunQueue queue;
    private final long timeoutMs;

    TunIdleStrategy(final TunQueue queue, final long timeoutMs)
    {
        this.queue = queue;
        this.timeoutMs = timeoutMs;
    }

    public void idle(final int workCount)
    {
        if (workCount <= 0)
        {
            queue.awaitReadable(timeoutMs);
        }
    }

    public void idle()
    {
        queue.awaitReadable(timeoutMs);
    }

    public void reset()
    {
    }

    public String alias()
    {
        return "tun-poll";
    }
}
