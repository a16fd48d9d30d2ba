package natgw.perf.jmh;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

import natgw.core.conntrack.ConntrackTable;

/**
 * Bytes per connection of the conntrack table: the table's own accounting
 * ({@link ConntrackTable#memoryBytes()} / capacity), the JVM's direct-buffer pool, and the process's
 * resident set before and after a table of N connections is created and filled through the pipeline.
 * <pre>
 *   java -cp perf/target/benchmarks.jar natgw.perf.jmh.MemoryFootprint 10000 1000000
 * </pre>
 */
public final class MemoryFootprint
{
    private MemoryFootprint()
    {
    }

    public static void main(final String[] args) throws Exception
    {
        final String[] sizes = args.length > 0 ? args : new String[]{ "10000", "1000000" };
        System.out.printf("%-9s %-12s %-11s %-13s %-11s %-13s %-11s %s%n", "capacity", "memoryBytes", "B/conn",
            "direct delta", "B/conn", "RSS delta", "B/conn", "RSS delta after filling it through the pipeline (heap too)");
        for (final String size : sizes)
        {
            final int n = Integer.parseInt(size);
            System.gc();
            final long rssBefore = rssBytes();
            final long directBefore = directBytes();
            final ConntrackTable table = new ConntrackTable(n, 0); // fixed capacity: all of it is allocated and zeroed here
            final long rssTable = rssBytes() - rssBefore;
            final long direct = directBytes() - directBefore;
            final long rssFilledBefore = rssBytes();
            final Flows flows = new Flows(n);
            final long rssFilled = rssBytes() - rssFilledBefore;
            System.out.printf("%-9d %-12d %-11.1f %-13d %-11.1f %-13d %-11.1f %d (%.1f B/conn)%n",
                table.capacity(), table.memoryBytes(), (double)table.memoryBytes() / n,
                direct, (double)direct / n, rssTable, (double)rssTable / n,
                rssFilled, (double)rssFilled / n);
            if (flows.table.countInUse() != n)
            {
                throw new IllegalStateException("not filled");
            }
        }
    }

    private static long directBytes()
    {
        for (final BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class))
        {
            if (pool.getName().equals("direct"))
            {
                return pool.getMemoryUsed();
            }
        }
        return -1;
    }

    private static long rssBytes() throws Exception
    {
        for (final String line : Files.readAllLines(Path.of("/proc/self/status")))
        {
            if (line.startsWith("VmRSS:"))
            {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return -1;
    }
}
