package natgw.tun;

import java.nio.ByteBuffer;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * The calling thread's slice under Linux's EEVDF scheduler: sched_setattr(2)'s {@code sched_runtime} for a
 * SCHED_OTHER or SCHED_BATCH thread (Linux 6.12, "sched/eevdf: Use sched_attr::sched_runtime to set request/slice
 * suggestion"). A thread with a shorter slice gets an earlier virtual deadline, so when it wakes it preempts the
 * thread running on its CPU instead of waiting out that thread's slice (1.4 ms by default on 2 CPUs); its share of
 * CPU time, its weight, is unchanged. The kernel clamps a slice to 0.1 ms .. 100 ms.
 * <p>
 * Only the policy's parameters change: the nice value and policy the thread had are kept, and a thread under another
 * policy (SCHED_FIFO from {@code chrt}, say) is left as it is.
 */
public final class ThreadSlice
{
    /** The kernel's bounds of a custom slice. */
    public static final long MIN_NS = 100_000;
    public static final long MAX_NS = 100_000_000;

    static final long SYS_SCHED_SETATTR = Native.syscallNumber(314, 274);
    static final long SYS_SCHED_GETATTR = Native.syscallNumber(315, 275);
    static final int SCHED_OTHER = 0;
    static final int SCHED_BATCH = 3;

    // struct sched_attr as of Linux 3.14 (SCHED_ATTR_SIZE_VER0): the fields below, 48 bytes
    private static final int ATTR_SIZE = 48;
    private static final int SIZE_OFFSET = 0;
    private static final int POLICY_OFFSET = 4;
    private static final int NICE_OFFSET = 16;
    private static final int RUNTIME_OFFSET = 24;

    private final boolean applied;
    private final long sliceNs;
    private final String reason;

    private ThreadSlice(final boolean applied, final long sliceNs, final String reason)
    {
        this.applied = applied;
        this.sliceNs = sliceNs;
        this.reason = reason;
    }

    /** True when the thread now runs with the slice asked for. */
    public boolean applied()
    {
        return applied;
    }

    /** The slice the thread runs with, in ns, as the kernel reports it (0 when it reports none). */
    public long sliceNs()
    {
        return sliceNs;
    }

    /** Why the slice was not applied; null when it was, or when none was asked for. */
    public String reason()
    {
        return reason;
    }

    /** "100 us", or "kernel default" with the reason a slice asked for is not in force. */
    public String label()
    {
        if (applied)
        {
            return sliceNs / 1000 + " us";
        }
        return reason == null ? "kernel default" : "kernel default (" + reason + ")";
    }

    /**
     * Asks the kernel to run the calling thread with {@code sliceNs} (0: leave the kernel's default) and reads back
     * what it runs with. A kernel or policy that does not take the slice is an outcome, said in {@link #reason()},
     * never an exception; only a slice outside the kernel's bounds is refused.
     *
     * @throws IllegalArgumentException if {@code sliceNs} is neither 0 nor within {@link #MIN_NS}..{@link #MAX_NS}.
     */
    public static ThreadSlice request(final long sliceNs)
    {
        if (sliceNs == 0)
        {
            return new ThreadSlice(false, 0, null);
        }
        if (sliceNs < MIN_NS || sliceNs > MAX_NS)
        {
            throw new IllegalArgumentException("a thread's slice is " + MIN_NS + " to " + MAX_NS + " ns, not " + sliceNs);
        }
        try
        {
            final UnsafeBuffer attr = new UnsafeBuffer(ByteBuffer.allocateDirect(64));
            if (!get(attr))
            {
                return new ThreadSlice(false, 0, "sched_getattr: " + Native.errnoText(Native.errno()));
            }
            final int policy = attr.getInt(POLICY_OFFSET);
            if (policy != SCHED_OTHER && policy != SCHED_BATCH)
            {
                return new ThreadSlice(false, 0, "the thread runs under scheduling policy " + policy + ", kept");
            }
            final int nice = attr.getInt(NICE_OFFSET);
            attr.setMemory(0, ATTR_SIZE, (byte)0);
            attr.putInt(SIZE_OFFSET, ATTR_SIZE);
            attr.putInt(POLICY_OFFSET, policy);
            attr.putInt(NICE_OFFSET, nice);
            attr.putLong(RUNTIME_OFFSET, sliceNs);
            if (Native.libc().syscall(SYS_SCHED_SETATTR, 0, attr.addressOffset(), 0, 0, 0, 0) != 0)
            {
                return new ThreadSlice(false, 0, "sched_setattr: " + Native.errnoText(Native.errno()));
            }
            final long now = get(attr) ? attr.getLong(RUNTIME_OFFSET) : 0;
            return now == sliceNs ? new ThreadSlice(true, now, null) :
                new ThreadSlice(false, now, "this kernel has no per-thread slices; Linux 6.12 and later have");
        }
        catch (final RuntimeException | LinkageError ex)
        {
            return new ThreadSlice(false, 0, ex.toString());
        }
    }

    /** The calling thread's slice in ns as the kernel reports it; 0 when it cannot be read. */
    public static long current()
    {
        final UnsafeBuffer attr = new UnsafeBuffer(ByteBuffer.allocateDirect(64));
        return get(attr) ? attr.getLong(RUNTIME_OFFSET) : 0;
    }

    private static boolean get(final UnsafeBuffer attr)
    {
        attr.setMemory(0, ATTR_SIZE, (byte)0);
        return Native.libc().syscall(SYS_SCHED_GETATTR, 0, attr.addressOffset(), ATTR_SIZE, 0, 0, 0) == 0;
    }
}
