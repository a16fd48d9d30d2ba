package natgw.core.nat;

import natgw.core.flow.FlowTuple;

/** A service backend as one snapshot sees it. The id is stable for the backend's life (counters, flows). */
public final class Backend
{
    private final int id;
    private final int address;
    private final int port;
    private final int weight;

    public Backend(final int id, final int address, final int port, final int weight)
    {
        if (weight < 0 || weight > 65535)
        {
            throw new IllegalArgumentException("weight must be 0..65535, got " + weight);
        }
        this.id = id;
        this.address = address;
        this.port = port;
        this.weight = weight;
    }

    public int id()
    {
        return id;
    }

    public int address()
    {
        return address;
    }

    public int port()
    {
        return port;
    }

    /** 0 = draining: no new connection, established ones go on. */
    public int weight()
    {
        return weight;
    }

    public Backend withWeight(final int newWeight)
    {
        return new Backend(id, address, port, newWeight);
    }

    public String endpoint()
    {
        return FlowTuple.addressToString(address) + ":" + port;
    }

    @Override
    public String toString()
    {
        return endpoint() + "@" + weight;
    }
}
