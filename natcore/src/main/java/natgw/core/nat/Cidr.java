package natgw.core.nat;

import natgw.core.flow.FlowTuple;

/** An IPv4 prefix. */
public final class Cidr
{
    private final int network;
    private final int mask;
    private final int prefixLength;

    public Cidr(final int address, final int prefixLength)
    {
        if (prefixLength < 0 || prefixLength > 32)
        {
            throw new IllegalArgumentException("prefix length must be 0..32, got " + prefixLength);
        }
        this.prefixLength = prefixLength;
        this.mask = prefixLength == 0 ? 0 : -1 << (32 - prefixLength);
        this.network = address & mask;
    }

    /** Parses {@code A.B.C.D/N} or a bare address (a /32); the message names the text on error. */
    public static Cidr parse(final String text)
    {
        final String t = text.trim();
        final int slash = t.indexOf('/');
        if (slash < 0)
        {
            return new Cidr(FlowTuple.parseAddress(t), 32);
        }
        final int length;
        try
        {
            length = Integer.parseInt(t.substring(slash + 1));
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException("not a CIDR: '" + text + "'");
        }
        if (length < 0 || length > 32)
        {
            throw new IllegalArgumentException("not a CIDR (prefix length 0..32): '" + text + "'");
        }
        return new Cidr(FlowTuple.parseAddress(t.substring(0, slash)), length);
    }

    public boolean contains(final int address)
    {
        return (address & mask) == network;
    }

    public int network()
    {
        return network;
    }

    public int prefixLength()
    {
        return prefixLength;
    }

    public long size()
    {
        return 1L << (32 - prefixLength);
    }

    @Override
    public String toString()
    {
        return FlowTuple.addressToString(network) + "/" + prefixLength;
    }
}
