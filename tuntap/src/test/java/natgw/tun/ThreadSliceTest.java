package natgw.tun;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import natgw.tun.testing.ProcSched;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ThreadSliceTest
{
    /** Runs {@code task} on a thread of its own, so that no slice outlives the test; returns what it returned. */
    private static <T> T onNewThread(final java.util.function.Supplier<T> task) throws InterruptedException
    {
        final AtomicReference<T> result = new AtomicReference<>();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final Thread thread = new Thread(() ->
        {
            try
            {
                result.set(task.get());
            }
            catch (final Throwable ex)
            {
                failure.set(ex);
            }
        });
        thread.start();
        thread.join();
        if (failure.get() != null)
        {
            throw new AssertionError(failure.get());
        }
        return result.get();
    }

    private static final Path THIS_THREAD = Path.of("/proc/thread-self");
    private static final long SYS_SETPRIORITY = Native.syscallNumber(141, 140);

    private static long procSlice()
    {
        return ProcSched.slice(THIS_THREAD);
    }

    @Test
    void shouldRunTheCallingThreadWithTheSliceAskedFor() throws InterruptedException
    {
        final long[] seen = onNewThread(() ->
        {
            final ThreadSlice slice = ThreadSlice.request(200_000);
            assertTrue(slice.applied(), () -> "not applied: " + slice.reason());
            return new long[]{ slice.sliceNs(), ThreadSlice.current(), procSlice() };
        });

        assertEquals(200_000, seen[0]);
        assertEquals(200_000, seen[1]);
        assertEquals(200_000, seen[2], "/proc/thread-self/sched se.slice");
    }

    @Test
    void shouldKeepTheNiceValueOfTheThread() throws InterruptedException
    {
        final int[] nice = onNewThread(() ->
        {
            // setpriority(PRIO_PROCESS, 0, 5): on Linux the calling thread's nice value, away from the default 0
            assertEquals(0, Native.libc().syscall(SYS_SETPRIORITY, 0, 0, 5, 0, 0, 0), "setpriority");
            final int before = ProcSched.nice(THIS_THREAD);
            ThreadSlice.request(100_000);
            return new int[]{ before, ProcSched.nice(THIS_THREAD) };
        });

        assertEquals(5, nice[0]);
        assertEquals(5, nice[1], "the nice value the thread had");
    }

    @Test
    void shouldLeaveTheKernelsSliceWhenNoneIsAskedFor() throws InterruptedException
    {
        final Object[] seen = onNewThread(() ->
        {
            final long before = procSlice();
            final ThreadSlice slice = ThreadSlice.request(0);
            return new Object[]{ slice, before, procSlice() };
        });

        final ThreadSlice slice = (ThreadSlice)seen[0];
        assertFalse(slice.applied());
        assertNull(slice.reason());
        assertEquals("kernel default", slice.label());
        assertEquals(seen[1], seen[2]);
    }

    @Test
    void shouldRefuseASliceTheKernelWouldClamp()
    {
        assertThrows(IllegalArgumentException.class, () -> ThreadSlice.request(99_999));
        assertThrows(IllegalArgumentException.class, () -> ThreadSlice.request(100_000_001));
    }

    @Test
    void shouldLabelAnAppliedSliceInMicroseconds() throws InterruptedException
    {
        final ThreadSlice slice = onNewThread(() -> ThreadSlice.request(100_000));

        assertEquals("100 us", slice.label());
    }
}
