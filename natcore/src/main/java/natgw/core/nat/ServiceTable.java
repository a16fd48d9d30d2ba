package natgw.core.nat;

import java.util.List;

import natgw.core.flow.FlowTuple;

/**
 * One immutable snapshot of the services: an open-addressed map from (protocol, VIP, port) to
 * {@link Service}, the set of VIPs, and which backend ids have been removed. Workers read the current
 * snapshot through one volatile read; the control thread publishes a new one for every change.
 */
public final class ServiceTable
{
    public static final ServiceTable EMPTY = new ServiceTable(List.of(), new int[0], new boolean[BackendCounters.MAX_BACKENDS]);

    private final long[] keys;
    private final Service[] services;
    private final int mask;
    private final int[] vips;
    private final boolean[] removed;
    private final List<Service> all;

    ServiceTable(final List<Service> services, final int[] knownVips, final boolean[] removed)
    {
        int size = 16;
        while (size < services.size() * 4)
        {
            size <<= 1;
        }
        this.keys = new long[size];
        this.services = new Service[size];
        this.mask = size - 1;
        for (final Service s : services)
        {
            final long key = key(s.protocol(), s.vip(), s.port());
            int i = slot(key);
            while (this.services[i] != null)
            {
                i = (i + 1) & mask;
            }
            keys[i] = key;
            this.services[i] = s;
        }
        this.vips = knownVips.clone();
        this.removed = removed.clone();
        this.all = List.copyOf(services);
    }

    private static long key(final int protocol, final int vip, final int port)
    {
        return (long)vip << 32 | (long)protocol << 16 | port;
    }

    private int slot(final long key)
    {
        return FlowTuple.hash(key, 0, 0x53525643L) & mask;
    }

    /** The service at this destination, or null. */
    public Service find(final int protocol, final int vip, final int port)
    {
        final long key = key(protocol, vip, port);
        int i = slot(key);
        Service s;
        while ((s = services[i]) != null)
        {
            if (keys[i] == key)
            {
                return s;
            }
            i = (i + 1) & mask;
        }
        return null;
    }

    /** True if the address is (or was, since start) a service VIP: such packets never pass untranslated. */
    public boolean isVip(final int address)
    {
        for (final int v : vips)
        {
            if (v == address)
            {
                return true;
            }
        }
        return false;
    }

    /** True if the backend with this id was removed: its remaining flows are ended on their next packet. */
    public boolean isRemoved(final int backendId)
    {
        return removed[backendId];
    }

    public List<Service> services()
    {
        return all;
    }

    public boolean isEmpty()
    {
        return all.isEmpty();
    }
}
