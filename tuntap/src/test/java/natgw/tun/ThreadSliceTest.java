package natgw.tun;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

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

    /** se.slice of the calling thread as /proc reports it: a second witness beside sched_getattr(2). */
    private static long procSlice()
    {
        try
        {
            for (final String line : Files.readAllLines(Path.of("/proc/thread-self/sched")))
            {
                if (line.startsWith("se.slice"))
                {
                    return Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                }
            }
        }
        catch (final java.io.IOException ex)
        {
            throw new AssertionError("cannot read /proc/thread-self/sched", ex);
        }
        throw new AssertionError("/proc/thread-self/sched has no se.slice line: this kernel has no EEVDF slices " +
            "(Linux 6.6 and later have them, per-thread slices Linux 6.12)");
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
            final int before = niceOfThisThread();
            ThreadSlice.request(100_000);
            return new int[]{ before, niceOfThisThread() };
        });

        assertEquals(nice[0], nice[1]);
    }

    private static int niceOfThisThread()
    {
        try
        {
            final String stat = Files.readString(Path.of("/proc/thread-self/stat"));
            final String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Integer.parseInt(fields[16]); // field 19 of stat(5), counted from the state (field 3)
        }
        catch (final java.io.IOException ex)
        {
            throw new AssertionError(ex);
        }
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
