package natgw.core.conntrack.jcstress;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.StatusDescriptor;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.core.nat.NatAllocator;
import natgw.core.nat.PortStrategy;
import natgw.core.packet.Ipv4Header;

import static natgw.core.conntrack.ConntrackTable.ORIGINAL;
import static natgw.core.conntrack.ConntrackTable.REPLY;

/**
 * Tuples and helpers shared by the JCStress tests of the conntrack protocol. Everything here runs in
 * a test's constructor or arbiter, never racing: the actors call the table directly.
 */
final class Fixture
{
    /** Long enough for any descheduled reader to run again; a lost entry still shows as NOT_REUSED. */
    private static final long FREED_WAIT_NS = 10_000_000_000L;

    static final int CLIENT_1 = FlowTuple.parseAddress("10.77.1.2");
    static final int CLIENT_2 = FlowTuple.parseAddress("10.77.1.3");
    static final int SERVER = FlowTuple.parseAddress("10.77.2.2");
    static final int POOL = FlowTuple.parseAddress("10.77.2.100");
    static final int CLIENT_PORT = 40000;
    static final int SERVER_PORT = 53;
    static final int PORT_LOW = 1024;
    static final int PORT_HIGH = 65535;

    /** Connection 1: 10.77.1.2:40000 -> 10.77.2.2:53/udp, translated to 10.77.2.100:40000. */
    static final long ORIG1_A = FlowTuple.packAddresses(CLIENT_1, SERVER);
    static final long ORIG1_B = FlowTuple.packPorts(Ipv4Header.PROTO_UDP, CLIENT_PORT, SERVER_PORT);
    static final long REPLY1_A = FlowTuple.packAddresses(SERVER, POOL);
    static final long REPLY1_B = FlowTuple.packPorts(Ipv4Header.PROTO_UDP, SERVER_PORT, CLIENT_PORT);
    static final int EXTRA1 = 0x1111_1111;

    /** Connection 2: 10.77.1.3:40000 -> same server, translated to 10.77.2.100:40001. */
    static final long ORIG2_A = FlowTuple.packAddresses(CLIENT_2, SERVER);
    static final long ORIG2_B = ORIG1_B;
    static final long REPLY2_A = REPLY1_A;
    static final long REPLY2_B = FlowTuple.packPorts(Ipv4Header.PROTO_UDP, SERVER_PORT, CLIENT_PORT + 1);
    static final int EXTRA2 = 0x2222_2222;

    static final int FLAGS = StatusDescriptor.SRC_NAT;
    static final int DEADLINE_MS = 30_000;

    private Fixture()
    {
    }

    /** The whole creation protocol, single-threaded: returns the CONFIRMED entry. */
    static int connect(
        final ConntrackTable table,
        final ConntrackTable.Cursor cursor,
        final long origAddresses,
        final long origPorts,
        final long replyAddresses,
        final long replyPorts,
        final int extra)
    {
        final int entry = table.allocate();
        if (entry < 0)
        {
            throw new IllegalStateException("table full");
        }
        table.initialise(entry, origAddresses, origPorts, replyAddresses, replyPorts, FLAGS, extra, DEADLINE_MS);
        if (!table.claim(cursor, entry, REPLY))
        {
            throw new IllegalStateException("reply tuple taken");
        }
        table.confirm(entry);
        if (!table.claim(cursor, entry, ORIGINAL))
        {
            throw new IllegalStateException("original tuple taken");
        }
        return entry;
    }

    /**
     * Kills connection {@code entry} (its {@code status} as read when it was set up) and at once reuses
     * the entry for a new connection, as a writer racing a reader does: NOT_KILLED, NOT_REUSED (another
     * entry came back), or REUSED.
     */
    static String killAndReuse(
        final ConntrackTable table,
        final ConntrackTable.Cursor cursor,
        final int entry,
        final int status,
        final long origAddresses,
        final long origPorts,
        final long replyAddresses,
        final long replyPorts,
        final int extra)
    {
        if (!table.kill(cursor, entry, status))
        {
            return "NOT_KILLED";
        }
        final int reused = allocateFreed(table);
        if (reused != entry)
        {
            return "NOT_REUSED";
        }
        table.initialise(reused, origAddresses, origPorts, replyAddresses, replyPorts, FLAGS, extra, DEADLINE_MS);
        table.claim(cursor, reused, REPLY);
        table.confirm(reused);
        table.claim(cursor, reused, ORIGINAL);
        return "REUSED";
    }

    /**
     * Allocates the entry a kill has just ended. Whoever unlinks an entry's last node frees it, and a
     * reader's find may have unlinked one and not yet counted it when kill returns: wait for it. The reader
     * does not wait for anyone, but it may be off its CPU for a whole time slice or more on a loaded machine,
     * so the wait yields and is bounded by a generous deadline, not by a spin count. -1 if it never came back.
     */
    static int allocateFreed(final ConntrackTable table)
    {
        final long deadlineNs = System.nanoTime() + FREED_WAIT_NS;
        for (int i = 0; ; i++)
        {
            final int entry = table.allocate();
            if (entry >= 0)
            {
                return entry;
            }
            if (i < 1_000)
            {
                Thread.onSpinWait();
            }
            else if (System.nanoTime() - deadlineNs < 0)
            {
                Thread.yield();
            }
            else
            {
                return -1;
            }
        }
    }

    static NatAllocator allocator(final ConntrackTable table, final PortStrategy strategy, final boolean clashResolution, final long seed)
    {
        return new NatAllocator(table, strategy, new WorkerCounters(0), 0, clashResolution, seed);
    }

    /**
     * Drains the free list and checks it against the entries in use: every entry must be either in use
     * or on the free list exactly once. Returns null if so, else what is wrong. Leaves the table full.
     */
    static String freeListProblem(final ConntrackTable table)
    {
        final int capacity = table.capacity();
        final int inUse = table.countInUse() + table.countMappings();
        final boolean[] seen = new boolean[capacity];
        int free = 0;
        try
        {
            for (int i = 0; i <= capacity + 1; i++)
            {
                final int entry = table.allocate();
                if (entry < 0)
                {
                    break;
                }
                if (entry >= capacity)
                {
                    return "FREE_LIST_OUT_OF_RANGE";
                }
                if (seen[entry])
                {
                    return "FREE_LIST_DUPLICATE";
                }
                seen[entry] = true;
                free++;
            }
        }
        catch (final RuntimeException ex)
        {
            return "FREE_LIST_CORRUPT_" + ex.getClass().getSimpleName();
        }
        if (free + inUse != capacity)
        {
            return free + inUse < capacity ? "ENTRY_LEAKED" : "ENTRY_BOTH_FREE_AND_USED";
        }
        return null;
    }
}
