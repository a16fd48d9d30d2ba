package natgw.tun.lab;

import java.util.Locale;

/** The three namespaces of the lab: traffic flows client -> gw -> server. */
public enum Role
{
    CLIENT,
    GW,
    SERVER;

    /** Lower-case name used in namespace names and on the command line. */
    public String label()
    {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Role parse(final String text)
    {
        for (final Role role : values())
        {
            if (role.label().equalsIgnoreCase(text))
            {
                return role;
            }
        }
        throw new IllegalArgumentException("unknown namespace '" + text + "': expected client, gw or server");
    }
}
