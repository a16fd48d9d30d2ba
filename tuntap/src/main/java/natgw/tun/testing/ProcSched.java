package natgw.tun.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What /proc says of a thread's scheduling: a witness for tests, beside what natgw asks of the kernel. */
public final class ProcSched
{
    private ProcSched()
    {
    }

    /** {@code se.slice} in ns of the thread whose /proc directory is {@code task} (e.g. /proc/thread-self). */
    public static long slice(final Path task)
    {
        try
        {
            for (final String line : Files.readAllLines(task.resolve("sched")))
            {
                if (line.startsWith("se.slice"))
                {
                    return Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                }
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot read " + task.resolve("sched"), ex);
        }
        throw new AssertionError(task.resolve("sched") + " has no se.slice line: this kernel has no EEVDF slices " +
            "(Linux 6.6 and later have them, per-thread slices Linux 6.12)");
    }

    /** The nice value of the thread whose /proc directory is {@code task}: field 19 of stat(5). */
    public static int nice(final Path task)
    {
        try
        {
            final String stat = Files.readString(task.resolve("stat"));
            return Integer.parseInt(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[16]);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot read " + task.resolve("stat"), ex);
        }
    }
}
