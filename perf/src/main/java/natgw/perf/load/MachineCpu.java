package natgw.perf.load;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The whole machine's CPU time, from the first line of /proc/stat: what every process and the kernel's own work
 * (softirqs of the packets crossing the lab) used, on all CPUs. /proc/stat is not namespaced, so a load generator
 * in the client namespace reads the gateway's and the server's work too: the cost of a path with its load, which
 * on a machine the load saturates (the closed loop) is also what sets the rate.
 * <p>
 * Busy is user, nice, system, irq and softirq; idle and iowait are not, nor steal (the hypervisor's), so a busy
 * share is of the time the guest had. Ticks are USER_HZ; a share of two snapshots' difference needs no HZ.
 */
public record MachineCpu(long busyTicks, long totalTicks, int cpus)
{
    static final Path PROC_STAT = Path.of("/proc/stat");

    /** The machine now; fails if /proc/stat cannot be read or parsed. */
    public static MachineCpu read() throws IOException
    {
        return parse(Files.readString(PROC_STAT));
    }

    /** {@code text}: the contents of /proc/stat (its "cpu" line first, then one "cpuN" line per CPU). */
    static MachineCpu parse(final String text)
    {
        final String[] lines = text.split("\n");
        if (lines.length == 0 || !lines[0].startsWith("cpu "))
        {
            throw new IllegalArgumentException("/proc/stat does not start with the 'cpu' line: " + firstLine(text));
        }
        final String[] f = lines[0].trim().split("\\s+");
        if (f.length < 9)
        {
            throw new IllegalArgumentException("/proc/stat 'cpu' line has " + (f.length - 1) + " fields, 8 needed: " + lines[0]);
        }
        final long user = Long.parseLong(f[1]);
        final long nice = Long.parseLong(f[2]);
        final long system = Long.parseLong(f[3]);
        final long idle = Long.parseLong(f[4]);
        final long iowait = Long.parseLong(f[5]);
        final long irq = Long.parseLong(f[6]);
        final long softirq = Long.parseLong(f[7]);
        final long steal = Long.parseLong(f[8]);
        final long busy = user + nice + system + irq + softirq;
        int cpus = 0;
        for (int i = 1; i < lines.length; i++)
        {
            if (lines[i].startsWith("cpu") && lines[i].length() > 3 && Character.isDigit(lines[i].charAt(3)))
            {
                cpus++;
            }
        }
        return new MachineCpu(busy, busy + idle + iowait + steal, Math.max(1, cpus));
    }

    /** CPU-seconds the machine was busy between {@code earlier} and this, {@code wallSeconds} apart. */
    public double busyCpuSecondsSince(final MachineCpu earlier, final double wallSeconds)
    {
        final long total = totalTicks - earlier.totalTicks;
        return total <= 0 ? Double.NaN : (double)(busyTicks - earlier.busyTicks) / total * cpus * wallSeconds;
    }

    private static String firstLine(final String text)
    {
        final int end = text.indexOf('\n');
        return end < 0 ? text : text.substring(0, end);
    }
}
