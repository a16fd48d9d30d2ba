package natgw.tun;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The calling process's effective capabilities (CapEff in /proc/self/status), to refuse early and clearly. */
public final class Capabilities
{
    /** Network configuration: TUN devices, routes, rules, neighbour entries, network sysctls. */
    public static final int CAP_NET_ADMIN = 12;
    /** Among much else, creating and entering network namespaces. */
    public static final int CAP_SYS_ADMIN = 21;

    private Capabilities()
    {
    }

    /** The effective set as a bit mask; 0 when it cannot be read (unknown counts as missing). */
    public static long effective()
    {
        try
        {
            for (final String line : Files.readAllLines(Path.of("/proc/self/status")))
            {
                if (line.startsWith("CapEff:"))
                {
                    return Long.parseUnsignedLong(line.substring("CapEff:".length()).trim(), 16);
                }
            }
        }
        catch (final IOException | NumberFormatException ex)
        {
            // fall through: unknown means missing
        }
        return 0;
    }

    public static boolean has(final int capability)
    {
        return (effective() & (1L << capability)) != 0;
    }
}
