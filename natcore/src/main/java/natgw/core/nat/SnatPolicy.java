package natgw.core.nat;

import java.util.ArrayList;
import java.util.List;

import natgw.core.flow.FlowTuple;

/**
 * Source NAT policy (masquerade to a pool): which sources are translated, to which addresses, in which
 * port range. Policy only: it chooses ranges; the allocator and the table do the work.
 */
public final class SnatPolicy
{
    private final int[] insideNetworks;
    private final int[] insideMasks;
    private final int[] pool;
    private final int portLow;
    private final int portHigh;
    private final boolean paired;

    public SnatPolicy(final List<Cidr> inside, final int[] pool, final int portLow, final int portHigh)
    {
        this(inside, pool, portLow, portHigh, false);
    }

    /**
     * @param paired an inside address always gets the same pool address, whatever the destination (RFC 4787 REQ-2
     *               "paired" pooling, nftables' {@code persistent}); otherwise the address depends on the source and
     *               the destination, as Linux's default.
     */
    public SnatPolicy(final List<Cidr> inside, final int[] pool, final int portLow, final int portHigh, final boolean paired)
    {
        if (pool.length == 0)
        {
            throw new IllegalArgumentException("the SNAT pool is empty");
        }
        if (portLow < 1 || portHigh > 65535 || portLow > portHigh)
        {
            throw new IllegalArgumentException("port range must be within 1-65535 with LO <= HI, got " + portLow + "-" + portHigh);
        }
        this.insideNetworks = new int[inside.size()];
        this.insideMasks = new int[inside.size()];
        for (int i = 0; i < inside.size(); i++)
        {
            final Cidr cidr = inside.get(i);
            insideNetworks[i] = cidr.network();
            insideMasks[i] = cidr.prefixLength() == 0 ? 0 : -1 << (32 - cidr.prefixLength());
        }
        this.pool = pool.clone();
        this.portLow = portLow;
        this.portHigh = portHigh;
        this.paired = paired;
    }

    /**
     * Parses a pool: {@code ADDR[,ADDR...]} or one {@code CIDR} (every address of it; a /31 or wider
     * prefix is taken whole, as a routed pool).
     */
    public static int[] parsePool(final String text)
    {
        final List<Integer> addresses = new ArrayList<>();
        for (final String part : text.split(","))
        {
            if (part.isBlank())
            {
                throw new IllegalArgumentException("empty address in pool '" + text + "'");
            }
            if (part.contains("/"))
            {
                final Cidr cidr = Cidr.parse(part);
                if (cidr.size() > 65536)
                {
                    throw new IllegalArgumentException("pool " + part + " is larger than 65536 addresses");
                }
                for (long i = 0; i < cidr.size(); i++)
                {
                    addresses.add(cidr.network() + (int)i);
                }
            }
            else
            {
                addresses.add(FlowTuple.parseAddress(part));
            }
        }
        return addresses.stream().mapToInt(Integer::intValue).distinct().toArray();
    }

    /** Parses {@code LO-HI}. */
    public static int[] parsePortRange(final String text)
    {
        final String[] parts = text.trim().split("-");
        try
        {
            if (parts.length == 2)
            {
                final int lo = Integer.parseInt(parts[0].trim());
                final int hi = Integer.parseInt(parts[1].trim());
                if (lo >= 1 && hi <= 65535 && lo <= hi)
                {
                    return new int[]{ lo, hi };
                }
            }
        }
        catch (final NumberFormatException ignore)
        {
            // falls through to the message below
        }
        throw new IllegalArgumentException("port range must be LO-HI within 1-65535 with LO <= HI, got '" + text + "'");
    }

    public boolean isInside(final int address)
    {
        final int[] networks = insideNetworks;
        for (int i = 0; i < networks.length; i++)
        {
            if ((address & insideMasks[i]) == networks[i])
            {
                return true;
            }
        }
        return false;
    }

    public boolean isPoolAddress(final int address)
    {
        for (final int a : pool)
        {
            if (a == address)
            {
                return true;
            }
        }
        return false;
    }

    /**
     * Pool address for a flow: stable per source and destination, or per source alone when paired, as nf_nat's
     * find_best_ips_proto hashes the destination in unless the range is {@code NF_NAT_RANGE_PERSISTENT}.
     */
    public int addressFor(final int srcAddress, final int dstAddress)
    {
        if (pool.length == 1)
        {
            return pool[0];
        }
        final int h = FlowTuple.hash(FlowTuple.packAddresses(srcAddress, paired ? 0 : dstAddress), 0, 0x6E617467L);
        return pool[(int)((h & 0xFFFF_FFFFL) * pool.length >>> 32)];
    }

    public int[] pool()
    {
        return pool.clone();
    }

    public int portLow()
    {
        return portLow;
    }

    public int portHigh()
    {
        return portHigh;
    }
}
