package natgw.core.nat;

import java.nio.ByteBuffer;

import org.agrona.concurrent.UnsafeBuffer;

import natgw.core.flow.FlowTuple;

/**
 * Source-address affinity (IPVS persistence): which backend a client of a service was given, until a
 * deadline that every new connection of that client pushes forward. Fixed capacity, lock-free: a slot's
 * key is claimed once with a CAS and its value (backend id, deadline) is one 64-bit word, so readers
 * never see half an update. Slots are never freed; an expired value is simply replaced. When a probe
 * finds no slot, the connection is scheduled without affinity.
 */
public final class AffinityTable
{
    private static final int PROBES = 16;

    private final UnsafeBuffer buffer;
    private final int mask;

    public AffinityTable(final int capacityPowerOfTwo)
    {
        if (Integer.bitCount(capacityPowerOfTwo) != 1)
        {
            throw new IllegalArgumentException("capacity must be a power of two");
        }
        this.buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(capacityPowerOfTwo * 16));
        this.mask = capacityPowerOfTwo - 1;
    }

    private static long key(final int serviceVip, final int servicePort, final int client)
    {
        return ((long)serviceVip << 32 | (client & 0xFFFF_FFFFL)) ^ ((long)servicePort << 48) | 1L;
    }

    /** The backend id remembered for this client, or -1 if none or expired. */
    public int lookup(final int serviceVip, final int servicePort, final int client, final int nowMs)
    {
        final long key = key(serviceVip, servicePort, client);
        int i = FlowTuple.hash(key, 0, 0xAFF1L) & mask;
        for (int p = 0; p < PROBES; p++, i = (i + 1) & mask)
        {
            final long k = buffer.getLongVolatile(i * 16);
            if (k == 0)
            {
                return -1;
            }
            if (k == key)
            {
                final long value = buffer.getLongVolatile(i * 16 + 8);
                final int deadlineMs = (int)value;
                return deadlineMs - nowMs >= 0 ? (int)(value >>> 32) : -1;
            }
        }
        return -1;
    }

    /** Remembers (or refreshes) the client's backend until {@code deadlineMs}. */
    public void remember(final int serviceVip, final int servicePort, final int client, final int backendId, final int deadlineMs)
    {
        final long key = key(serviceVip, servicePort, client);
        final long value = (long)backendId << 32 | (deadlineMs & 0xFFFF_FFFFL);
        int i = FlowTuple.hash(key, 0, 0xAFF1L) & mask;
        for (int p = 0; p < PROBES; p++, i = (i + 1) & mask)
        {
            final long k = buffer.getLongVolatile(i * 16);
            if (k == key || (k == 0 && buffer.compareAndSetLong(i * 16, 0, key)) || buffer.getLongVolatile(i * 16) == key)
            {
                buffer.putLongVolatile(i * 16 + 8, value);
                return;
            }
        }
    }
}
