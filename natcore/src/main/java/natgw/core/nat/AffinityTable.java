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
        this(capacityPowerOfTwo, new UnsafeBuffer(ByteBuffer.allocateDirect(bytes(capacityPowerOfTwo))));
    }

    /**
     * A table over memory the caller gives: zeroed, or a previous table's of the same capacity (a state file's
     * region), whose remembered clients carry on; deadlines are in the same clock's milliseconds.
     */
    public AffinityTable(final int capacityPowerOfTwo, final UnsafeBuffer memory)
    {
        if (Integer.bitCount(capacityPowerOfTwo) != 1)
        {
            throw new IllegalArgumentException("capacity must be a power of two");
        }
        if (memory.capacity() < bytes(capacityPowerOfTwo))
        {
            throw new IllegalArgumentException("affinity memory of " + memory.capacity() + " bytes, " +
                bytes(capacityPowerOfTwo) + " needed");
        }
        this.buffer = memory;
        this.mask = capacityPowerOfTwo - 1;
    }

    /** Bytes a table of this capacity takes: a key and a value word a slot. */
    public static int bytes(final int capacityPowerOfTwo)
    {
        return capacityPowerOfTwo * 16;
    }

    /**
     * Forgets every client whose deadline is before {@code nowMs} (an attach, before the first packet): a
     * value left long enough to wrap the milliseconds would otherwise look fresh again. The key stays
     * claimed, as always; a value of 0 reads as "none".
     */
    public int forgetExpired(final int nowMs)
    {
        int forgotten = 0;
        for (int i = 0; i <= mask; i++)
        {
            final long value = buffer.getLongVolatile(i * 16 + 8);
            if (value != 0 && (int)value - nowMs < 0)
            {
                buffer.putLongVolatile(i * 16 + 8, 0);
                forgotten++;
            }
        }
        return forgotten;
    }

    /** Exact: a service id (16 bits, stable) and the client address; +1 keeps it clear of an empty slot's 0. */
    private static long key(final int serviceId, final int client)
    {
        return ((long)(serviceId & 0xFFFF) << 32 | (client & 0xFFFF_FFFFL)) + 1;
    }

    /** The backend id remembered for this client, or -1 if none or expired. */
    public int lookup(final int serviceId, final int client, final int nowMs)
    {
        final long key = key(serviceId, client);
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
                if (value == 0)
                {
                    return -1; // key claimed, value not written yet
                }
                final int deadlineMs = (int)value;
                return deadlineMs - nowMs >= 0 ? (int)(value >>> 32) - 1 : -1;
            }
        }
        return -1;
    }

    /** Slots whose key is this client's (for tests: the key is claimed once, so 0 or 1). */
    public int slotsHolding(final int serviceId, final int client)
    {
        final long key = key(serviceId, client);
        int count = 0;
        for (int i = 0; i <= mask; i++)
        {
            if (buffer.getLongVolatile(i * 16) == key)
            {
                count++;
            }
        }
        return count;
    }

    /** Remembers (or refreshes) the client's backend until {@code deadlineMs}. */
    public void remember(final int serviceId, final int client, final int backendId, final int deadlineMs)
    {
        final long key = key(serviceId, client);
        final long value = (long)(backendId + 1) << 32 | (deadlineMs & 0xFFFF_FFFFL); // never 0: 0 is "not written"
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
