package natgw.core.fragment.jcstress;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;

import org.agrona.concurrent.UnsafeBuffer;

import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.core.fragment.FragmentTable;
import natgw.core.packet.Ipv4Header;

/**
 * One table for every state of a race (a table each would cost JCStress's millions of states megabytes each): each
 * state takes a datagram of its own, a source address and an IP id no other state in flight has. A datagram is two
 * pieces, the first {@code [0, 1480)} and the last {@code [1480, 2000)}, so once both went out its train is done
 * and evictable.
 */
final class Trains
{
    static final int DST = 0xCB007109;
    static final int NEW_SRC = 0xC6336401;
    static final int FIRST_END = 1480;
    static final int LAST_END = 2000;
    static final FragmentTable TABLE = new FragmentTable(1 << 16, 1 << 16, 1 << 16, 64, 30_000, 5);
    private static final AtomicInteger NEXT = new AtomicInteger();

    final long addresses;
    final int rest;
    final int src;

    Trains()
    {
        final int n = NEXT.incrementAndGet();
        src = 0x0A000000 + n; // unique for 2^32 states: a key that came back would find a train of an earlier state
        addresses = FlowTuple.packAddresses(src, DST);
        rest = FragmentTable.rest(Ipv4Header.PROTO_UDP, n & 0xFFFF);
    }

    static FragmentTable.Cursor cursor()
    {
        return new FragmentTable.Cursor(new WorkerCounters(0));
    }

    static UnsafeBuffer packet()
    {
        return new UnsafeBuffer(ByteBuffer.allocateDirect(64));
    }

    /** Frees a released chain; returns its length. */
    static int freeChain(final int head)
    {
        int count = 0;
        for (int slot = head; slot >= 0; )
        {
            final int next = TABLE.nextHeld(slot);
            TABLE.free(slot);
            count++;
            slot = next;
        }
        return count;
    }
}
