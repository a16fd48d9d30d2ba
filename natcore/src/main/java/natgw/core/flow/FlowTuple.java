package natgw.core.flow;

/**
 * A connection tuple packed in two longs, the unit the conntrack table hashes and compares
 * (Linux: {@code struct nf_conntrack_tuple}).
 * <pre>
 *   addresses = srcAddress << 32 | dstAddress
 *   ports     = protocol << 32 | srcPort << 16 | dstPort
 * </pre>
 * The addresses word is the network layer's half, the ports word the transport's (the protocol
 * that names the ports with them).
 * ICMP queries put the identifier where a port goes: the request in the source port, the reply in
 * the destination port, so the inverse of a request's tuple is its reply's tuple, as for TCP and UDP.
 * <p>
 * Static helpers only: the two longs travel in locals and table words, never as objects.
 */
public final class FlowTuple
{
    private FlowTuple()
    {
    }

    public static long packAddresses(final int srcAddress, final int dstAddress)
    {
        return (long)srcAddress << 32 | (dstAddress & 0xFFFF_FFFFL);
    }

    public static long packPorts(final int protocol, final int srcPort, final int dstPort)
    {
        return (long)protocol << 32 | (long)(srcPort & 0xFFFF) << 16 | (dstPort & 0xFFFF);
    }

    public static int srcAddress(final long addresses)
    {
        return (int)(addresses >>> 32);
    }

    public static int dstAddress(final long addresses)
    {
        return (int)addresses;
    }

    public static int protocol(final long ports)
    {
        return (int)(ports >>> 32) & 0xFF;
    }

    public static int srcPort(final long ports)
    {
        return (int)(ports >>> 16) & 0xFFFF;
    }

    public static int dstPort(final long ports)
    {
        return (int)ports & 0xFFFF;
    }

    public static long invertAddresses(final long addresses)
    {
        return addresses << 32 | addresses >>> 32;
    }

    public static long invertPorts(final long ports)
    {
        return ports & 0xFFFF_FFFF_0000_0000L | (ports & 0xFFFF) << 16 | (ports >>> 16 & 0xFFFF);
    }

    /** Table hash of a tuple under a per-table random seed (so remote hosts can't aim at one chain). */
    public static int hash(final long addresses, final long ports, final long seed)
    {
        long h = (addresses ^ seed) * 0x9E3779B97F4A7C15L;
        h ^= ports * 0xC2B2AE3D27D4EB4FL;
        h ^= h >>> 29;
        h *= 0xBF58476D1CE4E5B9L;
        h ^= h >>> 32;
        return (int)h;
    }

    public static String addressToString(final int address)
    {
        return (address >>> 24) + "." + (address >>> 16 & 0xFF) + "." + (address >>> 8 & 0xFF) + "." + (address & 0xFF);
    }

    /** Parses a dotted quad; throws IllegalArgumentException naming the text if it is not one. */
    public static int parseAddress(final String text)
    {
        final String[] parts = text.trim().split("\\.", -1);
        if (parts.length != 4)
        {
            throw new IllegalArgumentException("not an IPv4 address: '" + text + "'");
        }
        int address = 0;
        for (final String part : parts)
        {
            final int value;
            try
            {
                value = Integer.parseInt(part);
            }
            catch (final NumberFormatException ex)
            {
                throw new IllegalArgumentException("not an IPv4 address: '" + text + "'");
            }
            if (value < 0 || value > 255 || part.isEmpty() || part.length() > 3)
            {
                throw new IllegalArgumentException("not an IPv4 address: '" + text + "'");
            }
            address = address << 8 | value;
        }
        return address;
    }

    public static String toString(final long addresses, final long ports)
    {
        return "proto=" + protocol(ports) + " src=" + addressToString(srcAddress(addresses)) + " dst=" + addressToString(dstAddress(addresses)) +
            " sport=" + srcPort(ports) + " dport=" + dstPort(ports);
    }
}
