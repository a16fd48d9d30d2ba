package natgw.tun.lab;

import natgw.tun.Capabilities;

/** Checks the capabilities the lab needs, so a missing one fails with a message instead of an ip(8) error. */
public final class Privileges
{
    private Privileges()
    {
    }

    /** True when this process has CAP_NET_ADMIN and CAP_SYS_ADMIN (needed to create network namespaces). */
    public static boolean canManageNamespaces()
    {
        return Capabilities.has(Capabilities.CAP_NET_ADMIN) && Capabilities.has(Capabilities.CAP_SYS_ADMIN);
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
}
