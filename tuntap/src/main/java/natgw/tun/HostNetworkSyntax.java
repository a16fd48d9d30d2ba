package natgw.tun;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@link HostNetwork} reads and is given as text: iproute2's output parsed ({@code ip -o link show},
 * {@code ip -o addr show}), and the names, addresses and sysctl keys it is asked to change checked before any
 * command runs, so a bad one is refused with a message instead of reaching {@code ip}.
 */
final class HostNetworkSyntax
{
    static final Path PROC_SYS = Path.of("/proc/sys");
    private static final Pattern OWNER = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    private static final Pattern IP_LITERAL = Pattern.compile("[0-9A-Fa-f:.]+");
    private static final Pattern CIDR = Pattern.compile("[0-9A-Fa-f:.]+(/\\d{1,3})?");
    private static final Pattern SYSCTL_KEY = Pattern.compile("net[./][A-Za-z0-9_./-]+");
    private static final Pattern QLEN = Pattern.compile("\\bqlen (\\d+)");
    /** The kernel's default txqueuelen, for a link whose {@code ip link show} line names none. */
    private static final String DEFAULT_QLEN = "500";

    private HostNetworkSyntax()
    {
    }

    static List<String> linkNames(final String ipLinkOutput)
    {
        final List<String> names = new ArrayList<>();
        for (final String line : ipLinkOutput.split("\n"))
        {
            // "2: eth0: <BROADCAST,...> mtu 1500 ...", "7: go@if6: <...> ..."
            final String[] fields = line.trim().split("\\s+", 3);
            if (fields.length >= 2 && fields[1].endsWith(":"))
            {
                final String name = fields[1].substring(0, fields[1].length() - 1);
                final int at = name.indexOf('@');
                names.add(at < 0 ? name : name.substring(0, at));
            }
        }
        return names;
    }

    /** The txqueuelen in one line of {@code ip -o link show dev DEV}. */
    static String txQueueLength(final String ipLinkShowOutput)
    {
        final Matcher m = QLEN.matcher(ipLinkShowOutput);
        return m.find() ? m.group(1) : DEFAULT_QLEN;
    }

    static String interfaceContaining(final String ipAddrOutput, final String ip)
    {
        final byte[] target = parseIp(ip);
        String best = null;
        int bestPrefix = -1;
        for (final String line : ipAddrOutput.split("\n"))
        {
            // "2: eth0    inet 192.0.2.1/24 brd 192.0.2.255 scope global eth0\       valid_lft forever ..."
            // "3: ppp0    inet 10.0.0.1 peer 10.0.0.2/32 scope global ppp0\ ..."
            final String[] tokens = line.trim().split("\\s+");
            if (tokens.length < 4 || !(tokens[2].equals("inet") || tokens[2].equals("inet6")))
            {
                continue;
            }
            String cidr = tokens[3];
            if (tokens.length > 5 && "peer".equals(tokens[4]))
            {
                cidr = tokens[5];
            }
            final int slash = cidr.indexOf('/');
            if (slash < 0)
            {
                continue;
            }
            final byte[] network;
            final int prefix;
            try
            {
                network = parseIp(cidr.substring(0, slash));
                prefix = Integer.parseInt(cidr.substring(slash + 1));
            }
            catch (final IllegalArgumentException ex)
            {
                continue;
            }
            if (network.length == target.length && prefix > bestPrefix && samePrefix(network, target, prefix))
            {
                final String dev = tokens[1];
                final int at = dev.indexOf('@');
                best = at < 0 ? dev : dev.substring(0, at);
                bestPrefix = prefix;
            }
        }
        return best;
    }

    private static boolean samePrefix(final byte[] a, final byte[] b, final int prefix)
    {
        final int bits = a.length * 8;
        if (prefix > bits)
        {
            return false;
        }
        final BigInteger mask = BigInteger.ONE.shiftLeft(bits).subtract(BigInteger.ONE)
            .shiftRight(bits - prefix).shiftLeft(bits - prefix);
        return new BigInteger(1, a).and(mask).equals(new BigInteger(1, b).and(mask));
    }

    private static byte[] parseIp(final String ip)
    {
        if (!IP_LITERAL.matcher(ip).matches())
        {
            throw new IllegalArgumentException("'" + ip + "' is not an IP address");
        }
        try
        {
            return InetAddress.getByName(ip).getAddress(); // a literal: no name lookup
        }
        catch (final UnknownHostException ex)
        {
            throw new IllegalArgumentException("'" + ip + "' is not an IP address", ex);
        }
    }

    static void requireIp(final String ip)
    {
        parseIp(ip);
    }

    static void requireCidr(final String cidr)
    {
        if (!CIDR.matcher(cidr).matches())
        {
            throw new IllegalArgumentException("'" + cidr + "' is not an address/prefix");
        }
        parseIp(cidr.indexOf('/') < 0 ? cidr : cidr.substring(0, cidr.indexOf('/')));
    }

    static void requireDevice(final String dev)
    {
        try
        {
            LinuxTun.validateName(dev);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IllegalArgumentException(ex.getMessage().replace("TUN device name", "interface name"), ex);
        }
    }

    static void requireOwner(final String owner)
    {
        if (null == owner || !OWNER.matcher(owner).matches())
        {
            throw new IllegalArgumentException("owner '" + owner + "' must be 1-64 of [A-Za-z0-9_.-]");
        }
    }

    static Path sysctlPath(final String key)
    {
        if (!SYSCTL_KEY.matcher(key).matches() || key.contains(".."))
        {
            throw new IllegalArgumentException("sysctl '" + key + "' is not a network sysctl (net.*): " +
                "HostNetwork changes only per-namespace network settings");
        }
        return PROC_SYS.resolve(key.indexOf('/') >= 0 ? key : key.replace('.', '/'));
    }
}
