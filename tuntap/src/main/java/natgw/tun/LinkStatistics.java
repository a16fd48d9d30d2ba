package natgw.tun;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A network device's counters from {@code /proc/self/net/dev}, which shows the network namespace of this
 * process (sysfs shows that of whoever mounted /sys). For a TUN, "transmit" is the kernel handing packets to
 * the reader: {@link #txDropped} counts the packets it could not queue because the reader (natgw) was behind.
 */
public final class LinkStatistics
{
    static final Path PROC_NET_DEV = Path.of("/proc/self/net/dev");
    private static final int TX_DROPPED_FIELD = 11; // after "name:": 8 receive fields, then bytes, packets, errs, drop

    private LinkStatistics()
    {
    }

    /** The device's transmit drops, or -1 when it is not listed (gone) or the file cannot be read. */
    public static long txDropped(final String device)
    {
        try
        {
            return txDropped(Files.readAllLines(PROC_NET_DEV), device);
        }
        catch (final IOException ex)
        {
            return -1;
        }
    }

    static long txDropped(final List<String> lines, final String device)
    {
        for (final String line : lines)
        {
            final int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().equals(device))
            {
                final String[] fields = line.substring(colon + 1).trim().split("\\s+");
                return fields.length > TX_DROPPED_FIELD ? Long.parseLong(fields[TX_DROPPED_FIELD]) : -1;
            }
        }
        return -1;
    }
}
