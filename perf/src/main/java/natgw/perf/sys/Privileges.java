package natgw.perf.sys;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Checks the capabilities the lab needs, so a missing one fails with a message instead of an ip(8) error. */
public final class Privileges
{
    static final int CAP_NET_ADMIN = 12;
    static final int CAP_SYS_ADMIN = 21;

    private Privileges()
    {
    }

    /** True when this process has CAP_NET_ADMIN and CAP_SYS_ADMIN (needed to create network namespaces). */
    public static boolean canManageNamespaces()
    {
        final long capEff = effectiveCapabilities();
        return (capEff & (1L << CAP_NET_ADMIN)) != 0 && (capEff & (1L << CAP_SYS_ADMIN)) != 0;
    }

    /** Throws {@link IllegalStateException} naming what is missing unless {@link #canManageNamespaces()}. */
    public static void requireNamespaceAdmin(final String what)
    {
        if (!canManageNamespaces())
        {
            throw new IllegalStateException(what + " needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN to create " +
                "network namespaces); run it as root, e.g. with sudo");
        }
    }

    static long effectiveCapabilities()
    {
        try
        {
            for (final String line : Files.readAllLines(Path.of("/proc/self/status")))
            {
                if (line.startsWith("CapEff:"))
                {
                    return Long.parseUnsignedLong(line.substring("CapEff:".length()).strip(), 16);
                }
            }
        }
        catch (final IOException | NumberFormatException e)
        {
            return 0;
        }
        return 0;
    }
}
