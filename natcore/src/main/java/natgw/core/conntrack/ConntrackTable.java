package natgw.core.conntrack;

import java.util.concurrent.ThreadLocalRandom;

import org.agrona.BitUtil;
import org.agrona.BufferUtil;
import org.agrona.UnsafeAccess;
import org.agrona.concurrent.UnsafeBuffer;

import natgw.core.flow.FlowTuple;
import natgw.core.memory.OffHeapMemory;
import natgw.core.memory.RawMemory;

import static natgw.core.conntrack.StatusDescriptor.GENERATION_MASK;
import static natgw.core.conntrack.StatusDescriptor.GENERATION_UNIT;
import static natgw.core.conntrack.StatusDescriptor.PHASE_CONFIRMED;
import static natgw.core.conntrack.StatusDescriptor.PHASE_DYING;
import static natgw.core.conntrack.StatusDescriptor.PHASE_FREE;
import static natgw.core.conntrack.StatusDescriptor.PHASE_MASK;
import static natgw.core.conntrack.StatusDescriptor.PHASE_RESERVED;
import static natgw.core.conntrack.StatusDescriptor.generation;
import static natgw.core.conntrack.StatusDescriptor.phase;

/**
 * The connection tracking table: fixed capacity, off-heap, lock-free for any number of threads.
 * Mechanism only: it stores connections with an original and a reply tuple and knows nothing of
 * NAT policy.
 *
 * <h2>Layout</h2>
 * One block of off-heap memory, cache-line aligned: the bucket array, the entries, then the
 * entries' records. Every entry holds two list nodes, one per direction ("one for each way", as
 * {@code nf_conntrack_tuple_hash}), so an inbound lookup is the same operation as an outbound one.
 * Everything a packet of an established SNAT connection reads or writes is in its entry's line, so
 * its lookup and its accounting miss once; the record holds what only setup, teardown, DNAT and
 * readers need.
 * <pre>
 *  entry (64 bytes: one cache line)
 *   0  next[ORIGINAL]  tagged link word of the ORIGINAL node
 *   8  next[REPLY]     tagged link word of the REPLY node
 *  16  original tuple  addresses, ports (FlowTuple) immutable while linked
 *  32  reply tuple     addresses, ports             immutable while linked
 *  48  status          phase | flags | tcp state | generation   (CAS; StatusDescriptor)
 *  52  deadlineMs      ms since table epoch, wraps like jiffies
 *  56  pending[ORIGINAL], pending[REPLY]   packets (10 bits) | bytes (22 bits) not yet in the totals (atomic add)
 *
 *  record (48 bytes)
 *   0  extra           with DST_NAT: the backend id + 1 in the low 13 bits, immutable while linked ({@link #backend}),
 *                      and the closing timestamp's upper 19 bits above them; else a TCP connection's closing timestamp
 *                      ({@link #raiseSequenceEnd(Cursor, int, int, int, int)}); free-list link while FREE
 *   4  per protocol    as Linux's ct->proto: UDP firstDeadline, the deadline it was created with (its age, for the
 *                      stream rule), immutable while linked; TCP sequenceEnd, the original direction's sequence end
 *                      ({@link #raiseSequenceEnd}); nothing for ICMP
 *   8  refs            linked nodes + holders (the owner until published, killers, a raiser); 0 once FREE
 *  12  folds           pending counts being folded (low 16 bits) | folds done (high 16)
 *  16  totals          packets, bytes ORIGINAL; packets, bytes REPLY (64 bits each)
 * </pre>
 * An endpoint mapping ({@link MappingDescriptor}) uses its record's first long, which only an entry's owner writes
 * otherwise, as its uses.
 * A pending count is small so that it fits the entry's line; the add that takes it past
 * {@value #FOLD_PACKETS} packets swaps it to zero and adds what it took
 * to the totals ({@link #account}), and readers add the two ({@link #packets}, {@link #bytes}).
 * There are 1.375 buckets a node (two nodes an entry; {@link #bucketCount}), so a lookup that hits
 * visits 1.36 nodes on average (Knuth's 1 + load/2 at load 0.73), each its own cache line.
 * <p>
 * {@link #bucket}, {@link #prefetch}, {@link #touch} and {@link #prefetchStep} load the lines a
 * lookup will need ahead of it, so a batch of packets can have its misses in flight at once instead
 * of one after the other.
 *
 * <h2>Outliving the process</h2>
 * The block and a small control block (the free list's head, the reaper's last clock reading) can come
 * from a state file that a later process maps again; with the same capacity, epoch and hash seed it
 * attaches to them, and {@link #recover} makes them consistent, whatever step a dead thread was at,
 * before the first use. Nothing in the block is an address: links are entry numbers.
 *
 * <h2>Memory ordering</h2>
 * Buckets are lock-free lists (Michael, "High Performance Dynamic Lock-Free Hash Tables and
 * List-Based Sets", SPAA 2002) whose link words carry {@code mark | tag | node}: a node is
 * logically deleted by marking its own link word, physically unlinked by a CAS on its predecessor;
 * every successful CAS increments the tag, so a node freed and reused (ABA) fails the validation
 * that follows each key read. Key uniqueness, the property reserve-then-confirm rests on, comes from
 * insert-if-absent: an insert CASes the tail link of a chain it has just walked without finding its
 * key; a concurrent insert of the same key must CAS the same link (same tag), so one of them fails,
 * walks again and finds the other.
 * <ul>
 *   <li>An entry's tuples, extra data and status are written with plain stores by the thread that
 *   allocated it, then published by the CAS that links its first node (a full fence): a reader that
 *   reaches a node through a link word read with volatile semantics sees them complete.</li>
 *   <li>Entries are reused. The generation in the status word changes on every free; a reader takes
 *   the status when it finds the node, reads the fields it needs, and checks the generation again
 *   after a load fence ({@link #stillValid}, {@link #sameIncarnation}). A changed generation means the
 *   connection ended under it: the caller looks up again.</li>
 *   <li>A node is trusted only if it was linked when its status was read: every step of a walk reads
 *   the predecessor's link word again after the node's fields and goes on only if it is unchanged
 *   (same tag). Without that, a walk delayed at a node that was meanwhile freed and reused would read
 *   the node's new incarnation, which may still be private to its allocator: an ORIGINAL node is
 *   written, and its entry confirmed, before its claim, which may yet fail. {@link #findLinked}, the
 *   packet path's lookup, validates the same way and never writes: on any change it answers not found,
 *   and the caller's {@link #lookup} helps and restarts.</li>
 *   <li>An entry is freed by whoever drops its last reference (refs: its linked nodes, its owner's
 *   reference from allocate until the ORIGINAL claim or abandon, a killer's hold), and only once its
 *   phase is DYING, which a single CAS sets: exactly one killer. A killer takes its hold only on an
 *   entry that still has a reference (increment-if-not-zero, as {@code nf_conntrack_find_get}) and then
 *   checks the generation with its status CAS, so a stale kill never touches a FREE entry; zero is final
 *   for an incarnation: exactly one freer. The free-list link lives in {@code extra}, which nobody but
 *   the owner writes, or a holder that has checked the incarnation under its hold.</li>
 * </ul>
 */
public final class ConntrackTable
{
    public static final int ORIGINAL = 0;
    public static final int REPLY = 1;

    public static final int ENTRY_LENGTH = 64;
    /** An entry's record: what a packet of an SNAT connection never touches. */
    public static final int RECORD_LENGTH = 48;
    /** Memory per connection, without its share of the buckets. */
    public static final int BYTES_PER_ENTRY = ENTRY_LENGTH + RECORD_LENGTH;

    // entry line
    static final int NEXT_OFFSET = 0;
    static final int TUPLE_OFFSET = 16;
    static final int STATUS_OFFSET = 48;
    static final int DEADLINE_OFFSET = 52;
    static final int PENDING_OFFSET = 56;
    // record
    static final int EXTRA_OFFSET = 0;
    /** The bits of {@code extra} a DNAT connection's backend (its id + 1) takes; the rest hold its closing timestamp. */
    public static final int BACKEND_MASK = (1 << 13) - 1;
    /**
     * The bits of a TSval a DNAT connection's closing timestamp keeps: steps of 8,192 timestamp ticks (8 s at Linux's
     * 1 ms).
     */
    public static final int CLOSING_TIMESTAMP_MASK = ~BACKEND_MASK;
    static final int FIRST_DEADLINE_OFFSET = 4;
    static final int SEQUENCE_END_OFFSET = FIRST_DEADLINE_OFFSET;
    static final int LINKS_OFFSET = 8;
    static final int FOLD_OFFSET = 12;
    static final int TOTALS_OFFSET = 16;

    // a pending count: packets << PENDING_PACKET_SHIFT | bytes
    static final int PENDING_PACKET_SHIFT = 22;
    static final int PENDING_PACKET = 1 << PENDING_PACKET_SHIFT;
    static final int PENDING_BYTES_MASK = PENDING_PACKET - 1;
    /** Packets of this length or longer go straight to the totals. */
    public static final int PENDING_MAX_BYTES = 4096;
    /** A pending count is folded into the totals by the add that brings it to this many packets. */
    public static final int FOLD_PACKETS = 512;
    /**
     * Most threads that may count packets on one table at once (Linux's TUN queue limit): with at most
     * one add per thread between a fold's trigger and the next swap, a pending count stays below
     * 511 + 256 packets, and so below 767 * 4095 bytes: inside its 10 and 22 bits.
     */
    public static final int MAX_ACCOUNTING_THREADS = 256;
    private static final int FOLDING_MASK = 0xFFFF;
    private static final int FOLD_SEQUENCE_UNIT = 1 << 16;

    private static final long MARK = 1L << 63;
    private static final long TAG_UNIT = 1L << 32;
    private static final long TAG_MASK = 0x7FFF_FFFFL << 32;
    private static final long REF_MASK = 0xFFFF_FFFFL;

    private final RawMemory buffer;
    private final int capacity;
    private final long bucketCount;
    private final int entriesOffset;
    private final int recordsOffset;
    private final long seed;
    private final long epochNs;
    private final long freeListHeadAddress;
    private ConntrackEvents killListener = ConntrackEvents.NONE;
    private boolean permissions;
    private final UnsafeBuffer control;

    /**
     * Bytes of the control block: the clock word, then the free list's head on a line of its own with the high-water
     * mark beside it (an allocation reads both on the line it already owns).
     */
    public static final int CONTROL_LENGTH = 2 * BitUtil.CACHE_LINE_LENGTH;
    private static final int LAST_SEEN_NS_OFFSET = 0;
    private static final int HIGH_WATER_OFFSET = BitUtil.CACHE_LINE_LENGTH + 8;

    /**
     * @param capacity most connections (Linux nf_conntrack_max); buckets as {@link #bucketCount} gives.
     * @param epochNs  the clock reading that deadlines are relative to.
     */
    public ConntrackTable(final int capacity, final long epochNs)
    {
        this(capacity, epochNs, OffHeapMemory.DIRECT);
    }

    /**
     * @param capacity most connections (Linux nf_conntrack_max).
     * @param epochNs  the clock reading that deadlines are relative to.
     * @param memory   where the table's block comes from (e.g. memory backed by huge pages).
     */
    public ConntrackTable(final int capacity, final long epochNs, final OffHeapMemory memory)
    {
        this(capacity, epochNs, ThreadLocalRandom.current().nextLong(), allocate(capacity, memory),
            new UnsafeBuffer(BufferUtil.allocateDirectAligned(CONTROL_LENGTH, BitUtil.CACHE_LINE_LENGTH)), false);
    }

    /**
     * A table over memory that outlives the process (a state file's regions, see {@code StateFile}): either made
     * empty, or attached as a previous process left it, crashed or stopped. An attached table must be made
     * consistent by {@link #recover} before any other call.
     *
     * @param seed    the bucket hash's key; an attached table needs the one its entries were linked with.
     * @param block   zeroed, or a previous table's, of {@link #memoryBytes(int)} bytes, cache-line aligned.
     * @param control zeroed, or a previous table's, of {@link #CONTROL_LENGTH} bytes, cache-line aligned.
     * @param attach  true to keep what {@code block} and {@code control} hold, false to initialise them.
     */
    public ConntrackTable(
        final int capacity, final long epochNs, final long seed, final UnsafeBuffer block, final UnsafeBuffer control, final boolean attach)
    {
        requireCapacity(capacity);
        if (block.capacity() < memoryBytes(capacity) || control.capacity() < CONTROL_LENGTH)
        {
            throw new IllegalArgumentException("conntrack memory too small for capacity " + capacity + ": " +
                block.capacity() + " bytes of " + memoryBytes(capacity) + ", control " + control.capacity() + " of " + CONTROL_LENGTH);
        }
        this.capacity = capacity;
        final int buckets = bucketCount(capacity);
        this.bucketCount = buckets;
        this.entriesOffset = buckets * 8;
        this.recordsOffset = entriesOffset + capacity * ENTRY_LENGTH;
        this.buffer = new RawMemory(block);
        this.seed = seed;
        this.epochNs = epochNs;
        this.control = control;
        this.freeListHeadAddress = BitUtil.CACHE_LINE_LENGTH;

        if (!attach)
        {
            for (int i = capacity - 1; i >= 0; i--)
            {
                buffer.putInt(recordOffset(i) + EXTRA_OFFSET, i + 1 < capacity ? i + 2 : 0);
            }
            control.putLongVolatile((int)freeListHeadAddress, 1);
            control.putIntVolatile(HIGH_WATER_OFFSET, 0);
        }
    }

    private static UnsafeBuffer allocate(final int capacity, final OffHeapMemory memory)
    {
        requireCapacity(capacity);
        return memory.allocate((int)memoryBytes(capacity), BitUtil.CACHE_LINE_LENGTH);
    }

    private static void requireCapacity(final int capacity)
    {
        if (capacity < 1 || capacity > MAX_CAPACITY)
        {
            throw new IllegalArgumentException("conntrack capacity must be 1.." + MAX_CAPACITY + ", got " + capacity);
        }
    }

    /** Most connections one table holds: its block must stay under 2 GiB. */
    public static final int MAX_CAPACITY = 16 * 1024 * 1024;

    static final int BUCKETS_PER_FOUR_CONNECTIONS = 11;

    /**
     * Buckets for a capacity: {@value #BUCKETS_PER_FOUR_CONNECTIONS} for every four connections (1.375 a
     * node, a load of 0.73), at least 8, and no more than keep the block and its alignment under 2 GiB. Not
     * a power of two ({@link #bucket} maps a hash onto any count): what 10^6 connections leave of 128 MiB
     * goes to buckets instead of to rounding, and a hit walks 1 + 0.73 / 2 nodes on average.
     */
    public static int bucketCount(final int capacity)
    {
        final long wanted = (long)capacity * BUCKETS_PER_FOUR_CONNECTIONS / 4;
        final long room = (Integer.MAX_VALUE - BitUtil.CACHE_LINE_LENGTH - (long)capacity * BYTES_PER_ENTRY) / 8;
        return (int)Math.max(8, Math.min(wanted, room));
    }

    /** Off-heap bytes a table of this capacity takes: buckets, entries and their records. */
    public static long memoryBytes(final int capacity)
    {
        return (long)bucketCount(capacity) * 8 + (long)capacity * BYTES_PER_ENTRY;
    }

    public int capacity()
    {
        return capacity;
    }

    public int bucketCount()
    {
        return (int)bucketCount;
    }

    /** Off-heap bytes this table holds: buckets and entries. */
    public long memoryBytes()
    {
        return buffer.capacity();
    }

    public long epochNs()
    {
        return epochNs;
    }

    /** The bucket hash's key: a table attached to this one's memory must be made with it. */
    public long seed()
    {
        return seed;
    }

    /**
     * Records that the clock read {@code nowNs} while this table was in use (the reaper, every cycle): an
     * attach after a long gap expires what ran out in between without trusting deadlines that may have
     * wrapped.
     */
    public void clockSeen(final long nowNs)
    {
        control.putLongOrdered(LAST_SEEN_NS_OFFSET, nowNs);
    }

    /** The last {@link #clockSeen} reading, 0 if none. */
    public long lastSeenNs()
    {
        return control.getLongVolatile(LAST_SEEN_NS_OFFSET);
    }

    /** Milliseconds since the table epoch, as deadlines are stored. */
    public int toTableMs(final long nowNs)
    {
        return (int)((nowNs - epochNs) / 1_000_000L);
    }

    // ------------------------------------------------------------------ entries

    int entryOffset(final int entry)
    {
        return entriesOffset + entry * ENTRY_LENGTH;
    }

    int recordOffset(final int entry)
    {
        return recordsOffset + entry * RECORD_LENGTH;
    }

    /** Where an entry sits in memory (for tests of the layout). */
    long entryAddress(final int entry)
    {
        return buffer.addressOffset() + entryOffset(entry);
    }

    /**
     * Takes a free entry for a new connection, or returns -1 if the table is full. The entry is in
     * phase RESERVED, private to the caller until one of its nodes is linked, and the caller holds a
     * reference to it until it claims the ORIGINAL tuple (the last step) or abandons it.
     */
    public int allocate()
    {
        while (true)
        {
            final long head = control.getLongVolatile((int)freeListHeadAddress);
            final int ref = (int)(head & REF_MASK);
            if (ref == 0)
            {
                return -1;
            }
            final int entry = ref - 1;
            final int next = buffer.getIntVolatile(recordOffset(entry) + EXTRA_OFFSET);
            final long newHead = ((head & TAG_MASK) + TAG_UNIT) & TAG_MASK | (next & REF_MASK);
            if (control.compareAndSetLong((int)freeListHeadAddress, head, newHead))
            {
                raiseHighWater(entry + 1);
                final int offset = entryOffset(entry);
                final int record = recordOffset(entry);
                final int status = buffer.getIntVolatile(offset + STATUS_OFFSET);
                buffer.putIntVolatile(record + LINKS_OFFSET, 1); // the owner's reference; 0 until now, and nobody raises a 0
                buffer.putInt(record + EXTRA_OFFSET, 0);
                buffer.putLong(offset + PENDING_OFFSET, 0);
                buffer.putLong(record + TOTALS_OFFSET, 0);
                buffer.putLong(record + TOTALS_OFFSET + 8, 0);
                buffer.putLong(record + TOTALS_OFFSET + 16, 0);
                buffer.putLong(record + TOTALS_OFFSET + 24, 0);
                // the fold word is never reset: a fold of a stale incarnation may still be counting it down
                buffer.putIntVolatile(offset + STATUS_OFFSET, (status & GENERATION_MASK) | PHASE_RESERVED);
                return entry;
            }
        }
    }

    /**
     * One past the highest entry ever taken off the free list since the table was made or recovered: every entry in
     * use is below it. The free list hands out the entries freed last first, then the never-used ones in ascending
     * order, so the mark stays at the most entries the table has held at once, and a sweep stops there.
     */
    public int highWater()
    {
        return control.getIntVolatile(HIGH_WATER_OFFSET);
    }

    /**
     * Lowers the high-water mark to one past the highest entry in use. Only on a table no thread allocates from
     * (the warm-up between its rounds: each round then raises it again, so the compiled allocation has that path).
     */
    public void recomputeHighWater()
    {
        int mark = 0;
        for (int entry = control.getIntVolatile(HIGH_WATER_OFFSET) - 1; entry >= 0; entry--)
        {
            if (phase(status(entry)) != PHASE_FREE)
            {
                mark = entry + 1;
                break;
            }
        }
        control.putIntVolatile(HIGH_WATER_OFFSET, mark);
    }

    private void raiseHighWater(final int mark)
    {
        int current;
        while ((current = control.getIntVolatile(HIGH_WATER_OFFSET)) < mark)
        {
            if (control.compareAndSetInt(HIGH_WATER_OFFSET, current, mark))
            {
                return;
            }
        }
    }

    /** Sets the tuples and policy data of an entry still private to its allocator (phase RESERVED, unlinked). */
    public void initialise(
        final int entry,
        final long originalAddresses,
        final long originalPorts,
        final long replyAddresses,
        final long replyPorts,
        final int flags,
        final int extra,
        final int deadlineMs)
    {
        final int offset = entryOffset(entry);
        buffer.putLong(offset + TUPLE_OFFSET, originalAddresses);
        buffer.putLong(offset + TUPLE_OFFSET + 8, originalPorts);
        buffer.putLong(offset + TUPLE_OFFSET + 16, replyAddresses);
        buffer.putLong(offset + TUPLE_OFFSET + 24, replyPorts);
        buffer.putInt(recordOffset(entry) + EXTRA_OFFSET, extra);
        buffer.putInt(recordOffset(entry) + FIRST_DEADLINE_OFFSET, deadlineMs);
        buffer.putInt(offset + DEADLINE_OFFSET, deadlineMs);
        final int status = buffer.getInt(offset + STATUS_OFFSET);
        buffer.putInt(offset + STATUS_OFFSET, (status & (GENERATION_MASK | PHASE_MASK)) | flags);
    }

    /** Changes the reply tuple of an entry still private to its allocator (a new port candidate). */
    public void replyTuple(final int entry, final long replyAddresses, final long replyPorts)
    {
        final int offset = entryOffset(entry);
        buffer.putLong(offset + TUPLE_OFFSET + 16, replyAddresses);
        buffer.putLong(offset + TUPLE_OFFSET + 24, replyPorts);
    }

    public long tupleAddresses(final int entry, final int dir)
    {
        return buffer.getLong(entryOffset(entry) + TUPLE_OFFSET + dir * 16);
    }

    public long tuplePorts(final int entry, final int dir)
    {
        return buffer.getLong(entryOffset(entry) + TUPLE_OFFSET + dir * 16 + 8);
    }

    public int status(final int entry)
    {
        return buffer.getIntVolatile(entryOffset(entry) + STATUS_OFFSET);
    }

    public boolean compareAndSetStatus(final int entry, final int expected, final int update)
    {
        return buffer.compareAndSetInt(entryOffset(entry) + STATUS_OFFSET, expected, update);
    }

    /** The deadline the connection was created with: how old it is, for a caller who knows its first timeout. */
    public int firstDeadlineMs(final int entry)
    {
        return buffer.getInt(recordOffset(entry) + FIRST_DEADLINE_OFFSET);
    }

    /**
     * A TCP connection's original direction's sequence end: just past the highest sequence number its sender was seen
     * to use (see {@link #raiseSequenceEnd}). Read it, then check the incarnation (the status CAS of a kill does).
     */
    public int sequenceEnd(final int entry)
    {
        return buffer.getIntVolatile(recordOffset(entry) + SEQUENCE_END_OFFSET);
    }

    /** Sets the sequence end of a TCP connection still private to its allocator (after {@link #initialise}). */
    public void sequenceEnd(final int entry, final int end)
    {
        buffer.putInt(recordOffset(entry) + SEQUENCE_END_OFFSET, end);
    }

    /**
     * Raises the sequence end of the TCP connection found with {@code status} to {@code end} if {@code end} comes
     * after it ({@link TcpSequence#after}): a retransmission never moves it back. A plain store, made under a hold
     * (increment-if-not-zero on refs, as a killer's) and only if the entry is still that incarnation: the word is
     * another incarnation's otherwise, perhaps a mapping's uses, which a stale store must never touch. Two workers
     * raising one connection at once may leave the lower end: the last store wins. Callers raise on the segments
     * that carry SYN, FIN or RST; everything a sender sends after its FIN carries that FIN's end, so at TIME_WAIT the
     * racing stores are of one value, and before it a lost raise is made good by the next.
     */
    public void raiseSequenceEnd(final Cursor cursor, final int entry, final int status, final int end)
    {
        raiseSequenceEnd(cursor, entry, status, end, 0);
    }

    /**
     * {@link #raiseSequenceEnd(Cursor, int, int, int)} and, under the same hold, unless {@code closingTsval} is 0, raises
     * the connection's closing timestamp to it beside its backend ({@link #closingTimestamp}): the word is the free
     * list's while the entry is free and may be a mapping's uses after. It only moves forward, as the server's
     * {@code ts_recent} does (modulo 2^32); two workers storing at once may leave the older of two values, which a
     * retransmission makes good.
     */
    public void raiseSequenceEnd(final Cursor cursor, final int entry, final int status, final int end, final int closingTsval)
    {
        if (!tryHold(entry))
        {
            return;
        }
        if (sameIncarnation(entry, status))
        {
            final int record = recordOffset(entry);
            if (TcpSequence.after(end, buffer.getInt(record + SEQUENCE_END_OFFSET)))
            {
                buffer.putIntOrdered(record + SEQUENCE_END_OFFSET, end);
            }
            if (closingTsval != 0)
            {
                raiseClosingTimestamp(record + EXTRA_OFFSET, closingTimestampMask(status), closingTsval);
            }
        }
        release(cursor, entry);
    }

    private void raiseClosingTimestamp(final int offset, final int mask, final int tsval)
    {
        int kept = tsval & mask;
        if (kept == 0)
        {
            kept = mask & -mask; // below the first step beside a backend: that step, since 0 says "none" (and PAWS checks it)
        }
        final int word = buffer.getInt(offset);
        final int recorded = word & mask;
        if (recorded == 0 || kept - recorded > 0)
        {
            buffer.putIntOrdered(offset, word & ~mask | kept);
        }
    }

    /**
     * The TSval of the inside host's FIN on a source-NAT TCP connection found with {@code status} whose outside end sent
     * its FIN first, to the steps it is kept in, 0 for none: what the outside host, holding the 4-tuple in TIME_WAIT,
     * last took as the connection's timestamp ({@code ts_recent}), and checks a new SYN on that 4-tuple against (PAWS,
     * RFC 7323 5.3). Read it, then check the incarnation (the status CAS of a kill does).
     */
    public int closingTimestamp(final int entry, final int status)
    {
        return buffer.getIntVolatile(recordOffset(entry) + EXTRA_OFFSET) & closingTimestampMask(status);
    }

    /**
     * The order of {@code tsval} against the closing timestamp of the connection found with {@code status} (modulo 2^32):
     * 1 after it, -1 before it, 0 equal or none recorded. A DNAT connection's record keeps steps of 8,192
     * ({@link #CLOSING_TIMESTAMP_MASK}); within the recorded step either may be the later, and that is -1, as the
     * server might refuse.
     */
    public int closingTimestampOrder(final int entry, final int status, final int tsval)
    {
        final int closing = closingTimestamp(entry, status);
        if (closing == 0)
        {
            return 0;
        }
        final int mask = closingTimestampMask(status);
        final int order = Integer.signum((tsval & mask) - closing);
        return order == 0 && mask != -1 ? -1 : order;
    }

    /** The bits of a TSval the closing timestamp of a connection with {@code status} keeps: all, or beside a backend. */
    private static int closingTimestampMask(final int status)
    {
        return (status & StatusDescriptor.DST_NAT) != 0 ? CLOSING_TIMESTAMP_MASK : -1;
    }

    /** A DNAT connection's backend id (-1 for none); the entry's incarnation is the caller's to check. */
    public int backend(final int entry)
    {
        return (buffer.getInt(recordOffset(entry) + EXTRA_OFFSET) & BACKEND_MASK) - 1;
    }

    public int extra(final int entry)
    {
        return buffer.getInt(recordOffset(entry) + EXTRA_OFFSET);
    }

    public int deadlineMs(final int entry)
    {
        return buffer.getIntVolatile(entryOffset(entry) + DEADLINE_OFFSET);
    }

    /** Last writer wins: packets of one connection on two workers both push the deadline forward. */
    public void deadlineMs(final int entry, final int deadlineMs)
    {
        buffer.putIntOrdered(entryOffset(entry) + DEADLINE_OFFSET, deadlineMs);
    }

    /**
     * Counts a packet of {@code bytes} bytes in direction {@code dir}: one atomic add to the entry's
     * pending count, in the line the lookup already brought in; every {@value #FOLD_PACKETS} packets, the
     * add that reaches the mark folds the count into the record's totals.
     * Packets of {@value #PENDING_MAX_BYTES} bytes or more are added to the totals directly. At most
     * {@value #MAX_ACCOUNTING_THREADS} threads may count on one table at once.
     */
    public void account(final int entry, final int dir, final int bytes)
    {
        account(entry, dir, 1, bytes);
    }

    /**
     * Counts {@code packets} packets of {@code bytes} bytes in all in direction {@code dir}, as {@link
     * #account(int, int, int)} counts one: a GSO super-packet counts as the segments it becomes.
     */
    public void account(final int entry, final int dir, final int packets, final int bytes)
    {
        if (packets == 1 && bytes < PENDING_MAX_BYTES)
        {
            final int delta = PENDING_PACKET | bytes;
            final int pending = buffer.getAndAddInt(entryOffset(entry) + PENDING_OFFSET + dir * 4, delta) + delta;
            if (pending >>> PENDING_PACKET_SHIFT >= FOLD_PACKETS)
            {
                fold(entry, dir);
            }
        }
        else
        {
            final int totals = recordOffset(entry) + TOTALS_OFFSET + dir * 16;
            buffer.getAndAddLong(totals, packets);
            buffer.getAndAddLong(totals + 8, bytes);
        }
    }

    /**
     * Moves a direction's pending count into its totals. The swap takes each add exactly once, whoever
     * folds; the fold word (folds in progress, low 16 bits; folds done, high 16) lets a reader tell that
     * no fold overlapped its two reads.
     */
    private void fold(final int entry, final int dir)
    {
        final int record = recordOffset(entry);
        buffer.getAndAddInt(record + FOLD_OFFSET, 1);
        final int pending = buffer.getAndSetInt(entryOffset(entry) + PENDING_OFFSET + dir * 4, 0);
        final int totals = record + TOTALS_OFFSET + dir * 16;
        buffer.getAndAddLong(totals, pending >>> PENDING_PACKET_SHIFT);
        buffer.getAndAddLong(totals + 8, pending & PENDING_BYTES_MASK);
        buffer.getAndAddInt(record + FOLD_OFFSET, FOLD_SEQUENCE_UNIT - 1);
    }

    public long packets(final int entry, final int dir)
    {
        return count(entry, dir, true);
    }

    /** Packets counted in the entry's line and not yet folded into its totals (for tests). */
    int pendingPackets(final int entry, final int dir)
    {
        return buffer.getIntVolatile(entryOffset(entry) + PENDING_OFFSET + dir * 4) >>> PENDING_PACKET_SHIFT;
    }

    public long bytes(final int entry, final int dir)
    {
        return count(entry, dir, false);
    }

    /**
     * Total plus pending, read between two reads of the fold word that saw no fold in progress and the
     * same number of folds done: no fold's swap or add fell between the two, so nothing is counted twice
     * or missed (a reader waits out a fold, which is a few atomic operations; the data path never waits).
     */
    private long count(final int entry, final int dir, final boolean packets)
    {
        final int record = recordOffset(entry);
        final int pendingOffset = entryOffset(entry) + PENDING_OFFSET + dir * 4;
        final int totalOffset = record + TOTALS_OFFSET + dir * 16 + (packets ? 0 : 8);
        for (int attempt = 0; ; attempt++)
        {
            final int folds = buffer.getIntVolatile(record + FOLD_OFFSET);
            if ((folds & FOLDING_MASK) == 0)
            {
                final long total = buffer.getLongVolatile(totalOffset);
                final int pending = buffer.getIntVolatile(pendingOffset);
                if (buffer.getIntVolatile(record + FOLD_OFFSET) == folds)
                {
                    return total + (packets ? pending >>> PENDING_PACKET_SHIFT : pending & PENDING_BYTES_MASK);
                }
            }
            if (attempt < 64)
            {
                Thread.onSpinWait();
            }
            else
            {
                Thread.yield(); // a folding worker was descheduled mid-fold
            }
        }
    }

    // ------------------------------------------------------------------ lists

    private int bucketOffset(final long addresses, final long ports)
    {
        return bucket(addresses, ports) << 3;
    }

    /** The line of node {@code ref}'s entry; for ref 0 (no node), the bucket array's last line. */
    private int nodeLineOffset(final int ref)
    {
        return entriesOffset + ((ref - 1) >> 1) * ENTRY_LENGTH;
    }

    private int nodeLinkOffset(final int ref)
    {
        return nodeLineOffset(ref) + ((ref - 1) & 1) * 8;
    }

    private int nodeTupleOffset(final int ref)
    {
        return nodeLineOffset(ref) + TUPLE_OFFSET + ((ref - 1) & 1) * 16;
    }

    private static int ref(final long word)
    {
        return (int)(word & REF_MASK);
    }

    private static long nextTag(final long word)
    {
        return ((word & TAG_MASK) + TAG_UNIT) & TAG_MASK;
    }

    /**
     * Walks the chain of a tuple. On return {@code cursor.prevOffset/prevWord} is the link word where
     * an insert goes, and if found, {@code cursor.ref} the node holding the tuple and
     * {@code cursor.status} the entry status read while the node was linked.
     */
    private boolean find(final Cursor cursor, final long addresses, final long ports)
    {
        return find(cursor, addresses, ports, bucketOffset(addresses, ports));
    }

    private boolean find(final Cursor cursor, final long addresses, final long ports, final int bucket)
    {
        final RawMemory buffer = this.buffer;
        tryAgain:
        while (true)
        {
            int prevOffset = bucket;
            long prevWord = buffer.getLongVolatile(prevOffset);
            if (prevWord < 0)
            {
                continue; // buckets are never marked; defensive only
            }
            int cur = ref(prevWord);
            while (true)
            {
                if (cur == 0)
                {
                    cursor.prevOffset = prevOffset;
                    cursor.prevWord = prevWord;
                    cursor.ref = 0;
                    return false;
                }
                final int curLink = nodeLinkOffset(cur);
                final long curWord = buffer.getLongVolatile(curLink);
                final int tupleOffset = nodeTupleOffset(cur);
                final long curAddresses = buffer.getLongVolatile(tupleOffset);
                final long curPorts = buffer.getLongVolatile(tupleOffset + 8);
                final boolean match = curAddresses == addresses && curPorts == ports;
                final int status = match ?
                    buffer.getIntVolatile(entriesOffset + ((cur - 1) >>> 1) * ENTRY_LENGTH + STATUS_OFFSET) : 0;
                if (buffer.getLongVolatile(prevOffset) != prevWord)
                {
                    cursor.restarts++;
                    continue tryAgain;
                }
                if (curWord >= 0)
                {
                    if (match)
                    {
                        cursor.prevOffset = prevOffset;
                        cursor.prevWord = prevWord;
                        cursor.ref = cur;
                        cursor.curWord = curWord;
                        cursor.status = status;
                        return true;
                    }
                    prevOffset = curLink;
                    prevWord = curWord;
                }
                else
                {
                    final long unlinked = nextTag(prevWord) | (curWord & REF_MASK);
                    if (buffer.compareAndSetLong(prevOffset, prevWord, unlinked))
                    {
                        unlinkedNode(cursor, cur);
                        prevWord = unlinked;
                    }
                    else
                    {
                        cursor.restarts++;
                        continue tryAgain;
                    }
                }
                cur = ref(prevWord);
            }
        }
    }

    /** Links the node {@code dir} of {@code entry} if no linked node holds its tuple. */
    private boolean insertNode(final Cursor cursor, final int entry, final int dir)
    {
        final int offset = entryOffset(entry);
        final long addresses = buffer.getLong(offset + TUPLE_OFFSET + dir * 16);
        final long ports = buffer.getLong(offset + TUPLE_OFFSET + dir * 16 + 8);
        final int ref = entry * 2 + dir + 1;
        final int link = offset + NEXT_OFFSET + dir * 8;
        final int refs = recordOffset(entry) + LINKS_OFFSET;
        buffer.getAndAddInt(refs, 1);
        while (true)
        {
            if (find(cursor, addresses, ports))
            {
                buffer.getAndAddInt(refs, -1);
                return false;
            }
            // the node is unlinked and private here; keep its tag counting so a stale CAS elsewhere fails
            final long own = buffer.getLong(link);
            buffer.putLongVolatile(link, nextTag(own));
            if (buffer.compareAndSetLong(cursor.prevOffset, cursor.prevWord, nextTag(cursor.prevWord) | ref))
            {
                return true;
            }
        }
    }

    /** Logically deletes then unlinks the node {@code dir} of a DYING entry; false if it was not linked. */
    private boolean deleteNode(final Cursor cursor, final int entry, final int dir)
    {
        final int offset = entryOffset(entry);
        final long addresses = buffer.getLong(offset + TUPLE_OFFSET + dir * 16);
        final long ports = buffer.getLong(offset + TUPLE_OFFSET + dir * 16 + 8);
        final int ref = entry * 2 + dir + 1;
        while (true)
        {
            if (!find(cursor, addresses, ports) || cursor.ref != ref)
            {
                return false;
            }
            final int link = nodeLinkOffset(ref);
            final long curWord = cursor.curWord;
            if (!buffer.compareAndSetLong(link, curWord, MARK | nextTag(curWord) | (curWord & REF_MASK)))
            {
                continue;
            }
            if (buffer.compareAndSetLong(cursor.prevOffset, cursor.prevWord, nextTag(cursor.prevWord) | (curWord & REF_MASK)))
            {
                unlinkedNode(cursor, ref);
            }
            else
            {
                find(cursor, addresses, ports); // unlinks it on the way
            }
            return true;
        }
    }

    private void unlinkedNode(final Cursor cursor, final int ref)
    {
        final int entry = (ref - 1) >>> 1;
        if (buffer.getAndAddInt(recordOffset(entry) + LINKS_OFFSET, -1) == 1 &&
            phase(buffer.getIntVolatile(entryOffset(entry) + STATUS_OFFSET)) == PHASE_DYING)
        {
            free(cursor, entry);
        }
    }

    /**
     * Frees an entry whose last reference is gone; a connection that held a use of its endpoint's mapping releases it
     * here, once its own nodes are unlinked, so the mapping's external port is never free while a connection of the
     * endpoint still holds a tuple on it. The cursor may be the caller's: every caller reads what it needs of it
     * before, or walks again after.
     */
    private void free(final Cursor cursor, final int entry)
    {
        final int offset = entryOffset(entry);
        final int dying = buffer.getIntVolatile(offset + STATUS_OFFSET);
        final boolean heldParent = (dying & StatusDescriptor.MAPPED) != 0 && parentKey(dying,
            buffer.getLong(offset + TUPLE_OFFSET), buffer.getLong(offset + TUPLE_OFFSET + 8),
            buffer.getLong(offset + TUPLE_OFFSET + 16), buffer.getLong(offset + TUPLE_OFFSET + 24), cursor.parent);
        final long parentAddresses = cursor.parent[0];
        final long parentPorts = cursor.parent[1];
        while (true)
        {
            final int status = buffer.getIntVolatile(offset + STATUS_OFFSET);
            final int freed = (status & GENERATION_MASK) + GENERATION_UNIT | PHASE_FREE;
            if (buffer.compareAndSetInt(offset + STATUS_OFFSET, status, freed))
            {
                break;
            }
        }
        while (true)
        {
            final long head = control.getLongVolatile((int)freeListHeadAddress);
            // one store for the whole word a mapping's uses were in: a stale acquire never sees its tag again
            buffer.putLongVolatile(recordOffset(entry) + EXTRA_OFFSET, ref(head));
            final long newHead = nextTag(head) | (entry + 1);
            if (control.compareAndSetLong((int)freeListHeadAddress, head, newHead))
            {
                break;
            }
        }
        if (heldParent)
        {
            releaseParent(cursor, parentAddresses, parentPorts);
        }
    }

    // ------------------------------------------------------------------ connection protocol

    /**
     * Looks a tuple up. On success {@code cursor} names the entry, the direction the tuple travels in,
     * and the status read while its node was linked; RESERVED and DYING entries are reported too,
     * callers decide.
     */
    public boolean lookup(final Cursor cursor, final long addresses, final long ports)
    {
        return lookup(cursor, addresses, ports, bucket(addresses, ports));
    }

    /** {@link #lookup(Cursor, long, long)} with the tuple's {@link #bucket} already computed. */
    public boolean lookup(final Cursor cursor, final long addresses, final long ports, final int bucket)
    {
        if (find(cursor, addresses, ports, bucket << 3))
        {
            cursor.entry = (cursor.ref - 1) >>> 1;
            cursor.dir = (cursor.ref - 1) & 1;
            return true;
        }
        cursor.entry = -1;
        return false;
    }

    /** {@link #findLinked}: the tuple was not found on a quiet chain, or the walk met a change; see there. */
    public static final long NOT_FOUND = 0;

    /**
     * The packet path's lookup: {@link #lookup} for a hit, without a cursor and without helping. The walk
     * validates every step as {@link #find} does (the predecessor's link word read again, unchanged, after
     * the node's link, tuple and status), so the node it returns was linked, holding the tuple, when its
     * status was read: that is what keeps a stale walk from answering with a node nobody has linked yet,
     * such as the ORIGINAL node of an entry confirmed a moment before its claim, whose claim may still fail.
     * Where {@code find} would help unlink a marked node or restart after a changed link, this returns
     * {@link #NOT_FOUND} and leaves the work to the caller's {@link #lookup}.
     *
     * @param bucket the tuple's {@link #bucket}.
     * @return {@link #NOT_FOUND}, or the node and the status read while it was linked:
     * {@code (long)status << 32 | ref}, see {@link #foundEntry}, {@link #foundDir}, {@link #foundStatus}.
     * Read the entry's fields, then check {@link #sameIncarnation}.
     */
    public long findLinked(final long addresses, final long ports, final int bucket)
    {
        final RawMemory buffer = this.buffer;
        int prevOffset = bucket << 3;
        long prevWord = buffer.getLongVolatile(prevOffset);
        int cur = ref(prevWord);
        while (cur != 0)
        {
            final int curLink = nodeLinkOffset(cur);
            final long curWord = buffer.getLongVolatile(curLink);
            final int tupleOffset = nodeTupleOffset(cur);
            final boolean match = buffer.getLongVolatile(tupleOffset) == addresses && buffer.getLongVolatile(tupleOffset + 8) == ports;
            final int status = match ? buffer.getIntVolatile(nodeLineOffset(cur) + STATUS_OFFSET) : 0;
            if (buffer.getLongVolatile(prevOffset) != prevWord || curWord < 0)
            {
                return NOT_FOUND;
            }
            if (match)
            {
                return (long)status << 32 | cur;
            }
            prevOffset = curLink;
            prevWord = curWord;
            cur = ref(curWord);
        }
        return NOT_FOUND;
    }

    /** The entry of a {@link #findLinked} answer. */
    public static int foundEntry(final long found)
    {
        return ((int)found - 1) >>> 1;
    }

    /** The direction of the tuple of a {@link #findLinked} answer: ORIGINAL or REPLY. */
    public static int foundDir(final long found)
    {
        return ((int)found - 1) & 1;
    }

    /** The entry's status read while the node of a {@link #findLinked} answer was linked. */
    public static int foundStatus(final long found)
    {
        return (int)(found >>> 32);
    }

    /**
     * True if {@code entry} is still the incarnation whose {@code status} was read when it was found: call
     * after reading its fields (a load fence orders those reads before the generation check).
     */
    public boolean sameIncarnation(final int entry, final int status)
    {
        UnsafeAccess.UNSAFE.loadFence();
        return ((buffer.getIntVolatile(entryOffset(entry) + STATUS_OFFSET) ^ status) & GENERATION_MASK) == 0;
    }

    /**
     * Lookups done ahead of time, for a batch, in passes whose loads do not depend on each other so the
     * core overlaps their misses: {@link #bucket} hashes a tuple, {@link #prefetch} loads its bucket,
     * {@link #touch} loads a node's line, {@link #prefetchStep} compares the node (in
     * cache by then) and names the next one if it does not hold the tuple. Hints only: plain loads,
     * nothing is changed, and a stale answer costs a miss later, never a wrong result.
     */
    public int bucket(final long addresses, final long ports)
    {
        return (int)((FlowTuple.hash(addresses, ports, seed) & 0xFFFF_FFFFL) * bucketCount >>> 32); // Lemire's multiply-shift range
    }

    /** Loads a bucket (see {@link #bucket}); returns the first node of its chain, 0 for none. */
    public int prefetch(final int bucket)
    {
        return ref(buffer.getLong(bucket << 3));
    }

    /**
     * Loads node {@code ref}'s line: the whole entry a packet of it will read and count in (see
     * {@link #bucket}); returns a word of it for the caller to sink. No branch: ref 0 (end of chain)
     * loads the bucket array's last line, which is harmless.
     */
    public long touch(final int ref)
    {
        return buffer.getLong(nodeLineOffset(ref));
    }

    /**
     * For node {@code ref}, already loaded by {@link #touch}: the next node of the chain if it does not
     * hold the tuple, 0 if it does or the chain ends (see {@link #bucket}). No branch on the loaded data,
     * so a chain's outcome, as unpredictable as the traffic, never costs a mispredict here.
     */
    public int prefetchStep(final int ref, final long addresses, final long ports)
    {
        final int tupleOffset = nodeTupleOffset(ref);
        final long differ = (buffer.getLong(tupleOffset) ^ addresses) | (buffer.getLong(tupleOffset + 8) ^ ports);
        final int next = ref(buffer.getLong(nodeLinkOffset(ref)));
        // all ones if the node differs from the tuple and is a node at all (ref 0 ends the walk)
        final int walkOn = (int)((differ | -differ) >> 63) & (ref | -ref) >> 31;
        return next & walkOn;
    }

    /**
     * Claims a tuple of an entry the caller has allocated: links its node if no connection holds the
     * tuple. The atomic step of reserve-then-confirm. The ORIGINAL tuple is claimed last: once it is,
     * the caller's reference from {@link #allocate} is dropped; if a claim fails, the caller abandons.
     */
    public boolean claim(final Cursor cursor, final int entry, final int dir)
    {
        if (!insertNode(cursor, entry, dir))
        {
            return false;
        }
        if (phase(status(entry)) == PHASE_DYING)
        {
            // killed (flushed) between confirm and this claim: its killer may have missed this node
            deleteNode(cursor, entry, dir);
        }
        if (dir == ORIGINAL)
        {
            release(cursor, entry); // published: the owner's reference goes
        }
        return true;
    }

    /** Marks a reserved entry CONFIRMED: readers that find it from now on may use its translation. */
    public void confirm(final int entry)
    {
        final int offset = entryOffset(entry);
        while (true)
        {
            final int status = buffer.getIntVolatile(offset + STATUS_OFFSET);
            if (buffer.compareAndSetInt(offset + STATUS_OFFSET, status, status & ~PHASE_MASK | PHASE_CONFIRMED))
            {
                return;
            }
        }
    }

    /** Gives up an entry the caller allocated and has not published (or published only partly). */
    public void abandon(final Cursor cursor, final int entry)
    {
        final int offset = entryOffset(entry);
        while (true) // the owner's reference from allocate keeps it ours until the release below
        {
            final int status = buffer.getIntVolatile(offset + STATUS_OFFSET);
            if (buffer.compareAndSetInt(offset + STATUS_OFFSET, status, status & ~PHASE_MASK | PHASE_DYING))
            {
                break;
            }
        }
        deleteNode(cursor, entry, ORIGINAL);
        deleteNode(cursor, entry, REPLY);
        release(cursor, entry);
    }

    /**
     * Ends a connection if its status is still {@code expectedStatus} (CONFIRMED): the single CAS to
     * DYING elects one killer; both nodes are then unlinked and the entry freed by whoever unlinks last.
     *
     * @return true if this call killed it.
     */
    public boolean kill(final Cursor cursor, final int entry, final int expectedStatus)
    {
        if (phase(expectedStatus) != PHASE_CONFIRMED || StatusDescriptor.isMapping(expectedStatus))
        {
            return false; // a mapping ends with its last use (releaseUse), never by expiry, eviction or flush
        }
        return end(cursor, entry, expectedStatus);
    }

    private boolean end(final Cursor cursor, final int entry, final int expectedStatus)
    {
        if (!tryHold(entry))
        {
            return false; // free or being freed: not the connection the caller saw
        }
        final int offset = entryOffset(entry);
        if (!buffer.compareAndSetInt(offset + STATUS_OFFSET, expectedStatus, expectedStatus & ~PHASE_MASK | PHASE_DYING))
        {
            release(cursor, entry);
            return false;
        }
        deleteNode(cursor, entry, ORIGINAL);
        deleteNode(cursor, entry, REPLY);
        if (!StatusDescriptor.isMapping(expectedStatus))
        {
            // still held: the entry cannot be freed and reused while the listener reads it
            killListener.onEvent(ConntrackEvents.DESTROY, this, entry, expectedStatus);
        }
        release(cursor, entry);
        return true;
    }

    /** Kills every connection (conntrack -F); mappings end with their last connection. Returns how many. */
    public int flush(final Cursor cursor)
    {
        int killed = 0;
        for (int entry = 0; entry < capacity; entry++)
        {
            if (kill(cursor, entry, status(entry)))
            {
                killed++;
            }
        }
        return killed;
    }

    /**
     * Told of every connection {@link #kill} ends (expiry, flush, reopen, eviction, ...), on the killing
     * thread, before the entry can be reused. Set once, before the table is shared.
     */
    public void onKill(final ConntrackEvents listener)
    {
        this.killListener = listener;
    }

    /** Increment-if-not-zero: a reference to an entry that still has one; false if it is (being) freed. */
    private boolean tryHold(final int entry)
    {
        final int offset = recordOffset(entry) + LINKS_OFFSET;
        while (true)
        {
            final int refs = buffer.getIntVolatile(offset);
            if (refs <= 0)
            {
                return false;
            }
            if (buffer.compareAndSetInt(offset, refs, refs + 1))
            {
                return true;
            }
        }
    }

    private void release(final Cursor cursor, final int entry)
    {
        if (buffer.getAndAddInt(recordOffset(entry) + LINKS_OFFSET, -1) == 1 &&
            phase(buffer.getIntVolatile(entryOffset(entry) + STATUS_OFFSET)) == PHASE_DYING)
        {
            free(cursor, entry);
        }
    }

    // ------------------------------------------------------------------ endpoint mappings

    /**
     * Gives a mapping entry still private to its allocator (initialised with {@link StatusDescriptor#MAPPED} and
     * {@link MappingDescriptor}'s tuples) its first use: its creator's.
     */
    public void startUses(final int mapping)
    {
        buffer.putLong(recordOffset(mapping) + EXTRA_OFFSET, 1L << 32 | (MappingDescriptor.tag(status(mapping)) & 0xFFFF_FFFFL));
    }

    /**
     * Takes a use of the mapping found with {@code status} (CONFIRMED): increment-if-not-zero on its uses, for that
     * incarnation only. False if it has ended meanwhile (no use left is final) or the entry is no longer it; the
     * caller then looks the endpoint up again. A use keeps the mapping, its tuples and its external port, until it
     * is released: by {@link #releaseUse}, or when a connection that holds it ({@link StatusDescriptor#MAPPED}) is
     * freed.
     */
    public boolean acquire(final int mapping, final int status)
    {
        if (phase(status) != PHASE_CONFIRMED || !StatusDescriptor.isMapping(status))
        {
            return false;
        }
        final int offset = recordOffset(mapping) + EXTRA_OFFSET;
        final int tag = MappingDescriptor.tag(status);
        while (true)
        {
            final long word = buffer.getLongVolatile(offset);
            if ((int)word != tag || word >>> 32 == 0)
            {
                return false;
            }
            if (buffer.compareAndSetLong(offset, word, word + (1L << 32)))
            {
                return true;
            }
        }
    }

    /** Drops a use of a mapping; the last one ends it: its nodes are unlinked and its external port is free again. */
    public void releaseUse(final Cursor cursor, final int mapping)
    {
        final long uses = buffer.getAndAddLong(recordOffset(mapping) + EXTRA_OFFSET, -(1L << 32));
        if (uses >>> 32 == 1)
        {
            // the incarnation whose last use went, from its tag: a taker may have helped end it, and the entry been
            // freed and reused, by now (helpEnd); then the phase CAS fails and the end is not ours
            end(cursor, mapping, MappingDescriptor.confirmedStatus((int)uses));
        }
    }

    /**
     * Helps end the mapping found with {@code status} if its last use is gone: a taker that found it so need not wait
     * for its releaser, maybe descheduled, to unlink it before the endpoint can have its next mapping. No use left is
     * final, so ending it is what the releaser does too: the phase CAS elects one, and unlinking is idempotent.
     */
    public void helpEnd(final Cursor cursor, final int mapping, final int status)
    {
        if (!StatusDescriptor.isMapping(status) || !tryHold(mapping))
        {
            return;
        }
        // held: the entry cannot be freed and reused until the release below
        final long word = buffer.getLongVolatile(recordOffset(mapping) + EXTRA_OFFSET);
        final int now = status(mapping);
        if ((int)word == MappingDescriptor.tag(status) && word >>> 32 == 0 && ((now ^ status) & GENERATION_MASK) == 0)
        {
            if (phase(now) == PHASE_CONFIRMED)
            {
                buffer.compareAndSetInt(entryOffset(mapping) + STATUS_OFFSET, now, now & ~PHASE_MASK | PHASE_DYING);
            }
            if (phase(status(mapping)) == PHASE_DYING)
            {
                deleteNode(cursor, mapping, ORIGINAL);
                deleteNode(cursor, mapping, REPLY);
            }
        }
        release(cursor, mapping);
    }

    /**
     * For the creator of a mapping that lost its ORIGINAL claim (the endpoint got a mapping on another worker an
     * instant before): drops its use and its reference from {@link #allocate}. Between its confirm and the lost
     * claim someone may have taken a use through its REPLY node; the mapping then ends with that use.
     */
    public void disown(final Cursor cursor, final int mapping)
    {
        releaseUse(cursor, mapping);
        release(cursor, mapping);
    }

    /** Uses of a mapping (for control and tests: a plain read). */
    public int uses(final int mapping)
    {
        return (int)(buffer.getLongVolatile(recordOffset(mapping) + EXTRA_OFFSET) >>> 32);
    }

    /**
     * With {@code on}, every connection that holds a mapping (MAPPED) holds it through a permission of its remote address
     * ({@link MappingDescriptor#permissionAddresses}, address-dependent filtering): a connection's use is the
     * permission's, a permission's the mapping's. Set once, before the table is shared or recovered.
     */
    public void permissions(final boolean on)
    {
        this.permissions = on;
    }

    public boolean permissions()
    {
        return permissions;
    }

    /**
     * What a freed entry held a use of, found from its tuples: a connection's endpoint mapping or permission (the
     * source and destination of its inside direction's tuple), a permission's mapping; {@code out[0..1]} the key's
     * ORIGINAL tuple. False for an entry that held none.
     */
    private boolean parentKey(final int status, final long originalAddresses, final long originalPorts,
        final long replyAddresses, final long replyPorts, final long[] out)
    {
        if ((status & StatusDescriptor.MAPPED) == 0)
        {
            return false;
        }
        if (StatusDescriptor.isMapping(status))
        {
            if (!MappingDescriptor.isPermissionTuple(originalPorts))
            {
                return false;
            }
            out[0] = MappingDescriptor.endpointAddresses(FlowTuple.srcAddress(originalAddresses));
            out[1] = MappingDescriptor.endpointPorts(FlowTuple.protocol(originalPorts), FlowTuple.srcPort(originalPorts));
            return true;
        }
        final boolean original = MappingDescriptor.insideDirection(status) == ORIGINAL;
        final long addresses = original ? originalAddresses : replyAddresses;
        final long ports = original ? originalPorts : replyPorts;
        out[0] = permissions ?
            MappingDescriptor.permissionAddresses(FlowTuple.srcAddress(addresses), FlowTuple.dstAddress(addresses)) :
            MappingDescriptor.endpointAddresses(FlowTuple.srcAddress(addresses));
        out[1] = permissions ?
            MappingDescriptor.permissionPorts(FlowTuple.protocol(ports), FlowTuple.srcPort(ports)) :
            MappingDescriptor.endpointPorts(FlowTuple.protocol(ports), FlowTuple.srcPort(ports));
        return true;
    }

    /**
     * A connection whose status CAS from {@code status} has just dropped {@link StatusDescriptor#MAPPED} (it has
     * ended: TIME_WAIT, CLOSE) gives back the use it held; its tuples were read before that CAS, which checked their
     * incarnation. Its free will release nothing.
     */
    public void releaseUseOf(final Cursor cursor, final int status, final long originalAddresses, final long originalPorts,
        final long replyAddresses, final long replyPorts)
    {
        if (parentKey(status, originalAddresses, originalPorts, replyAddresses, replyPorts, cursor.parent))
        {
            releaseParent(cursor, cursor.parent[0], cursor.parent[1]);
        }
    }

    /** A freed entry gives back the use it held. */
    private void releaseParent(final Cursor cursor, final long addresses, final long ports)
    {
        // the use kept the parent linked under its key: the lookup finds it, and nothing else
        if (lookup(cursor, addresses, ports) && cursor.dir == ORIGINAL && StatusDescriptor.isMapping(cursor.status))
        {
            releaseUse(cursor, cursor.entry);
        }
    }

    /** Number of endpoint mappings: entries not free that are mappings (a scan: for control and tests). */
    public int countMappings()
    {
        int count = 0;
        for (int i = 0; i < capacity; i++)
        {
            final int status = status(i);
            if (phase(status) != PHASE_FREE && StatusDescriptor.isMapping(status) &&
                !MappingDescriptor.isPermissionTuple(tuplePorts(i, ORIGINAL)))
            {
                count++;
            }
        }
        return count;
    }

    /**
     * True if the entry read through {@code cursor} is still the incarnation found: call after reading
     * its fields (a load fence orders those reads before the generation check).
     */
    public boolean stillValid(final Cursor cursor)
    {
        return sameIncarnation(cursor.entry, cursor.status);
    }

    /** Number of connections: entries not free, mappings aside (a scan: for control and tests, not the data path). */
    public int countInUse()
    {
        int count = 0;
        for (int i = 0; i < capacity; i++)
        {
            final int status = status(i);
            if (phase(status) != PHASE_FREE && !StatusDescriptor.isMapping(status))
            {
                count++;
            }
        }
        return count;
    }

    // ------------------------------------------------------------------ recovery

    /**
     * Makes an attached table consistent before its first use, single-threaded: a previous process may
     * have died at any step of any operation. A connection survives if it was CONFIRMED with both nodes
     * linked and unmarked, and its deadline has not passed by {@code nowNs}: exactly the connections a
     * packet could have used. Everything else is released, whatever step it was at: a reservation not yet
     * confirmed, a confirmed entry whose ORIGINAL claim never happened, a kill or abandon half done, an
     * entry taken off the free list before its status said so. Then what the dead threads held is rebuilt
     * from the survivors alone: the chains (only surviving nodes, so no marked node is left to help
     * unlink), reference counts (two linked nodes each, no owner or killer holds), the free list (every
     * other entry, with a new generation where it was in use), and counters (pending counts folded into
     * the totals, a fold cut short no longer "in progress" for readers to wait on). Expiry is judged from
     * the last {@link #clockSeen} reading, so a gap long enough to wrap the deadlines' milliseconds does
     * not revive a connection.
     */
    public Recovery recover(final long nowNs)
    {
        final byte[] linked = linkedNodes();
        for (int b = 0; b < bucketCount; b++)
        {
            buffer.putLong(b << 3, 0);
        }
        final long lastSeenNs = lastSeenNs();
        final long gapNs = lastSeenNs == 0 ? 0 : Math.max(0, nowNs - lastSeenNs);
        final int clockMs = toTableMs(lastSeenNs == 0 ? nowNs : lastSeenNs);
        final int[] uses = new int[capacity];
        final byte[] fate = survivors(linked, clockMs, gapNs, uses);
        int kept = 0;
        int mappings = 0;
        int released = 0;
        int expired = 0;
        int freeHead = 0;
        int highWater = 0;
        for (int entry = capacity - 1; entry >= 0; entry--)
        {
            final int offset = entryOffset(entry);
            final int record = recordOffset(entry);
            final int status = buffer.getInt(offset + STATUS_OFFSET);
            if (fate[entry] == KEPT)
            {
                highWater = Math.max(highWater, entry + 1);
                relink(entry, ORIGINAL);
                relink(entry, REPLY);
                buffer.putInt(record + LINKS_OFFSET, 2);
                if (StatusDescriptor.isMapping(status))
                {
                    buffer.putLong(record + EXTRA_OFFSET, (long)uses[entry] << 32 | (MappingDescriptor.tag(status) & 0xFFFF_FFFFL));
                    mappings += MappingDescriptor.isPermissionTuple(tuplePorts(entry, ORIGINAL)) ? 0 : 1;
                }
                else
                {
                    foldAll(entry);
                    kept++;
                }
                continue;
            }
            if (fate[entry] == EXPIRED)
            {
                expired++;
            }
            else if (phase(status) != PHASE_FREE)
            {
                released++;
            }
            if (phase(status) != PHASE_FREE)
            {
                buffer.putInt(offset + STATUS_OFFSET, (status & GENERATION_MASK) + GENERATION_UNIT | PHASE_FREE);
            }
            buffer.putLong(offset + NEXT_OFFSET, nextTag(buffer.getLong(offset + NEXT_OFFSET)));
            buffer.putLong(offset + NEXT_OFFSET + 8, nextTag(buffer.getLong(offset + NEXT_OFFSET + 8)));
            buffer.putInt(record + LINKS_OFFSET, 0);
            buffer.putInt(record + FOLD_OFFSET, buffer.getInt(record + FOLD_OFFSET) & ~FOLDING_MASK);
            buffer.putInt(record + EXTRA_OFFSET, freeHead);
            freeHead = entry + 1;
        }
        control.putLongVolatile((int)freeListHeadAddress, nextTag(control.getLong((int)freeListHeadAddress)) | freeHead);
        control.putIntVolatile(HIGH_WATER_OFFSET, highWater); // the free list is ascending again above the survivors
        clockSeen(nowNs);
        return new Recovery(kept, released, expired, mappings);
    }

    private static final byte RELEASED = 0;
    private static final byte KEPT = 1;
    private static final byte EXPIRED = 2;
    /** A permission whose mapping did not survive (recovery's survivors() only). */
    private static final byte ORPHAN = 3;

    /**
     * Which entries survive a recovery: published connections whose deadline has not passed, and published mappings and
     * permissions that a survivor holds a use of ({@code uses}, counted here from the survivors alone). An entry whose
     * parent did not survive goes too: a connection's external port is no longer its endpoint's alone.
     */
    private byte[] survivors(final byte[] linked, final int clockMs, final long gapNs, final int[] uses)
    {
        final byte[] fate = new byte[capacity];
        final java.util.HashMap<ParentKey, Integer> parents = new java.util.HashMap<>();
        final java.util.ArrayList<Integer> permissionEntries = new java.util.ArrayList<>();
        for (int entry = 0; entry < capacity; entry++)
        {
            final int offset = entryOffset(entry);
            final int status = buffer.getInt(offset + STATUS_OFFSET);
            if (phase(status) != PHASE_CONFIRMED || linked[entry] != 3)
            {
                continue;
            }
            if (StatusDescriptor.isMapping(status))
            {
                parents.put(new ParentKey(tupleAddresses(entry, ORIGINAL), tuplePorts(entry, ORIGINAL)), entry);
                if (MappingDescriptor.isPermissionTuple(tuplePorts(entry, ORIGINAL)))
                {
                    permissionEntries.add(entry);
                }
                continue;
            }
            final long remainingMs = buffer.getInt(offset + DEADLINE_OFFSET) - clockMs;
            fate[entry] = remainingMs >= 0 && remainingMs * 1_000_000L >= gapNs ? KEPT : EXPIRED;
        }
        final long[] key = new long[2];
        for (final int permission : permissionEntries)
        {
            // a permission whose mapping is gone is gone, and with it its connections
            final int offset = entryOffset(permission);
            parentKey(buffer.getInt(offset + STATUS_OFFSET), tupleAddresses(permission, ORIGINAL), tuplePorts(permission, ORIGINAL), 0, 0, key);
            if (!parents.containsKey(new ParentKey(key[0], key[1])))
            {
                parents.remove(new ParentKey(tupleAddresses(permission, ORIGINAL), tuplePorts(permission, ORIGINAL)));
                fate[permission] = ORPHAN;
            }
        }
        for (int entry = 0; entry < capacity; entry++)
        {
            if (fate[entry] == KEPT)
            {
                countUse(entry, parents, uses, fate, key);
            }
        }
        for (final int permission : permissionEntries)
        {
            fate[permission] = uses[permission] > 0 && fate[permission] != ORPHAN ? KEPT : RELEASED;
            if (fate[permission] == KEPT)
            {
                countUse(permission, parents, uses, fate, key);
            }
        }
        for (final int parent : parents.values())
        {
            if (!MappingDescriptor.isPermissionTuple(tuplePorts(parent, ORIGINAL)))
            {
                fate[parent] = uses[parent] > 0 ? KEPT : RELEASED;
            }
        }
        return fate;
    }

    /** Counts a survivor's use of its parent (recovery), or releases the survivor if its parent is gone. */
    private void countUse(final int entry, final java.util.Map<ParentKey, Integer> parents, final int[] uses, final byte[] fate, final long[] key)
    {
        final int offset = entryOffset(entry);
        if (!parentKey(buffer.getInt(offset + STATUS_OFFSET), buffer.getLong(offset + TUPLE_OFFSET), buffer.getLong(offset + TUPLE_OFFSET + 8),
            buffer.getLong(offset + TUPLE_OFFSET + 16), buffer.getLong(offset + TUPLE_OFFSET + 24), key))
        {
            return;
        }
        final Integer parent = parents.get(new ParentKey(key[0], key[1]));
        if (parent == null)
        {
            fate[entry] = RELEASED;
        }
        else
        {
            uses[parent]++;
        }
    }

    /** A mapping's or permission's ORIGINAL tuple (recovery). */
    private record ParentKey(long addresses, long ports)
    {
    }

    /** For every entry, which of its nodes (bit 1 ORIGINAL, bit 2 REPLY) is reachable, unmarked, in its tuple's bucket. */
    private byte[] linkedNodes()
    {
        final byte[] linked = new byte[capacity];
        final long maxRef = 2L * capacity;
        for (int b = 0; b < bucketCount; b++)
        {
            long word = buffer.getLong(b << 3);
            for (long steps = 0; ref(word) != 0 && ref(word) <= maxRef && steps <= maxRef; steps++)
            {
                final int node = ref(word);
                final int entry = (node - 1) >>> 1;
                final int dir = (node - 1) & 1;
                word = buffer.getLong(nodeLinkOffset(node));
                final int tuple = nodeTupleOffset(node);
                if (word >= 0 && bucket(buffer.getLong(tuple), buffer.getLong(tuple + 8)) == b)
                {
                    linked[entry] |= (byte)(1 << dir);
                }
            }
        }
        return linked;
    }

    /** Links node {@code dir} of a surviving entry at the head of its bucket (recovery: no other thread). */
    private void relink(final int entry, final int dir)
    {
        final int link = entryOffset(entry) + NEXT_OFFSET + dir * 8;
        final int tuple = nodeTupleOffset(entry * 2 + dir + 1);
        final int bucketOffset = bucketOffset(buffer.getLong(tuple), buffer.getLong(tuple + 8));
        final long head = buffer.getLong(bucketOffset);
        buffer.putLong(link, nextTag(buffer.getLong(link)) | ref(head));
        buffer.putLong(bucketOffset, nextTag(head) | (entry * 2 + dir + 1));
    }

    /** Moves both pending counts into the totals and ends any fold cut short (recovery: no other thread). */
    private void foldAll(final int entry)
    {
        final int record = recordOffset(entry);
        for (int dir = ORIGINAL; dir <= REPLY; dir++)
        {
            final int pendingOffset = entryOffset(entry) + PENDING_OFFSET + dir * 4;
            final int pending = buffer.getInt(pendingOffset);
            final int totals = record + TOTALS_OFFSET + dir * 16;
            buffer.putLong(totals, buffer.getLong(totals) + (pending >>> PENDING_PACKET_SHIFT));
            buffer.putLong(totals + 8, buffer.getLong(totals + 8) + (pending & PENDING_BYTES_MASK));
            buffer.putInt(pendingOffset, 0);
        }
        buffer.putInt(record + FOLD_OFFSET, buffer.getInt(record + FOLD_OFFSET) & ~FOLDING_MASK);
    }

    /**
     * What {@link #recover} found: connections kept, entries released mid-operation (or whose mapping did not
     * survive), connections expired meanwhile, mappings kept.
     */
    public static final class Recovery
    {
        private final int kept;
        private final int released;
        private final int expired;
        private final int mappings;

        Recovery(final int kept, final int released, final int expired, final int mappings)
        {
            this.kept = kept;
            this.released = released;
            this.expired = expired;
            this.mappings = mappings;
        }

        /** Endpoint mappings that carry on, with the uses of the connections (or permissions) kept. */
        public int mappings()
        {
            return mappings;
        }

        /** Connections that carry on. */
        public int kept()
        {
            return kept;
        }

        /** Entries a dead thread had in hand (reserved, unconfirmed, half killed): freed. */
        public int released()
        {
            return released;
        }

        /** Connections whose timeout passed while no process ran: freed. */
        public int expired()
        {
            return expired;
        }

        public String toString()
        {
            return kept + " connections kept, " + released + " unfinished entries released, " + expired + " expired" +
                (mappings > 0 ? ", " + mappings + " endpoint mappings kept" : "");
        }
    }

    /**
     * Per-thread walk state. Each thread that touches the table owns one; nothing is allocated per
     * operation.
     */
    public static final class Cursor
    {
        int prevOffset;
        long prevWord;
        int ref;
        long curWord;
        int status;
        int entry = -1;
        int dir;
        long restarts;
        /** A freed entry's parent key, read before the entry goes back to the free list. */
        final long[] parent = new long[2];

        /** Entry found by the last successful lookup. */
        public int entry()
        {
            return entry;
        }

        /** Direction of the tuple found: ORIGINAL or REPLY. */
        public int dir()
        {
            return dir;
        }

        /** Entry status when the lookup found it. */
        public int status()
        {
            return status;
        }

        /** Points the cursor at an entry the caller knows (just created or adopted). */
        public void set(final int entry, final int dir, final int status)
        {
            this.entry = entry;
            this.dir = dir;
            this.status = status;
        }

        /** Table walks restarted by this cursor after concurrent changes, since it was made. */
        public long restarts()
        {
            return restarts;
        }
    }
}
