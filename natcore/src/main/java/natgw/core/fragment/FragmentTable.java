package natgw.core.fragment;

import org.agrona.BitUtil;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import natgw.core.conntrack.WorkerCounters;
import natgw.core.memory.OffHeapMemory;
import natgw.core.packet.DropReason;

/**
 * IPv4 fragment trains, shared by all workers, lock-free (virtual reassembly, as VPP's NAT44 does it): a train
 * per datagram, named by (source, destination, protocol, identification), learns its address translation from
 * the first fragment, which carries the L4 header and goes through conntrack as any packet; the later
 * fragments take the same translation. A fragment that comes before its first is copied into a buffer of a
 * bounded pool and held on its train until the first comes (then the worker of the first releases it) or the
 * train times out (then it is dropped). The TUN's queue choice hashes a fragment by its addresses and protocol
 * alone, so one datagram's fragments usually reach one worker; but the queue a hash maps to follows the
 * worker that last wrote a packet of that hash, and can change in the middle of a train: hence one table.
 * <p>
 * Each train keeps a log of its pieces (byte ranges), so that overlapping fragments, pieces past the
 * datagram's end and datagrams over 65535 bytes drop the train, and a train whose pieces cover the
 * datagram ends at once. Bounded everywhere: {@link #GROUP} entries a train's hash may take (a full group
 * evicts its oldest translated train, never a waiting one), {@link #MAX_PIECES} pieces a train, a pool of
 * held fragments with a limit per source address, one timeout from the train's start (Linux: ipfrag_time).
 * <pre>
 * Train entry ({@link #STRIDE} bytes; the word and the held chain are changed by CAS only):
 *   0  word      generation(20) | phase(3) | pieces(7) | covered bytes(17) | end(17, 0 = unknown)
 *                (DROPPED: the covered field holds the drop reason's id)
 *   8  held      generation(20) | chain state(2) | first held slot + 1 (31)
 *  16  addresses source << 32 | destination            24 rest: protocol << 16 | identification
 *  28  deadline  table ms                              32 new source  36 new destination
 *  64  pieces    MAX_PIECES longs: generation(20) | start(17) | end(17)
 *
 * Phases: FREE -> KEYED -> PENDING -> SETTING -> READY -> DONE -> FREEING -> FREE (generation + 1)
 *                             (PENDING, SETTING, READY) -> DROPPED -> FREEING
 * </pre>
 * Memory ordering: every field a lookup compares or a translation reads is read between two volatile reads
 * of the word (or the held chain) and trusted only if the generation did not change between them; a field
 * is written only by the one thread whose CAS put the entry into the phase that writes it (KEYED: key
 * and deadline; SETTING: the translation), before the volatile write or CAS that publishes the next phase.
 * A worker that loses a race on the word learns it from the failed CAS and starts over; one whose entry
 * ended and came back under another key is told by the generation. A piece is written after the CAS that
 * counted it, tagged with its generation, by CAS, never over a newer generation's piece; a piece and another
 * fragment's check of the log are each a volatile write then reads (Dekker), so of two overlapping pieces
 * written at once at least one sees the other.
 */
public final class FragmentTable
{
    /** Entries a train's hash may take. */
    public static final int GROUP = 8;
    /** Pieces of one datagram: a 65535-byte datagram at MTU 1500 is 45. */
    public static final int MAX_PIECES = 64;
    public static final int MAX_DATAGRAM = 65535;
    /** Buckets of the held-per-source counts: sources that share one share its limit. */
    public static final int SOURCE_BUCKETS = 4096;

    /** {@link #piece} and {@link #hold} outcomes; any other value is the id of the {@link DropReason} it was dropped for. */
    public static final int TRANSLATE = -1;
    public static final int HOLD = -2;
    /** {@link #piece} of a first fragment: the caller sets the train's translation with {@link #ready}. */
    public static final int SET = -3;
    /** {@link #hold}: the train ended under the caller; take the fragment from the start. */
    public static final int RETRY = -4;

    static final int FREE = 0;
    /** Translated and covered: nothing more to come, found by no lookup; freed when its entry is wanted or its deadline passes. */
    static final int DONE = 1;
    static final int KEYED = 2;
    static final int PENDING = 3;
    static final int SETTING = 4;
    static final int READY = 5;
    static final int DROPPED = 6;
    static final int FREEING = 7;

    private static final int GEN_SHIFT = 44;
    private static final int GEN_MASK = 0xF_FFFF;
    private static final int PHASE_SHIFT = 41;
    private static final int PIECES_SHIFT = 34;
    private static final int COVERED_SHIFT = 17;
    private static final int FIELD17 = 0x1_FFFF;

    private static final int HELD_GEN_SHIFT = 40;
    private static final int HELD_STATE_SHIFT = 32;
    private static final int CHAIN_OPEN = 0;
    private static final int CHAIN_READY = 1;
    private static final int CHAIN_DROPPED = 2;

    private static final int WORD_OFFSET = 0;
    private static final int HELD_OFFSET = 8;
    private static final int ADDRESSES_OFFSET = 16;
    private static final int REST_OFFSET = 24;
    private static final int DEADLINE_OFFSET = 28;
    private static final int NEW_SRC_OFFSET = 32;
    private static final int NEW_DST_OFFSET = 36;
    private static final int PIECES_OFFSET = 64;
    static final int STRIDE = PIECES_OFFSET + MAX_PIECES * 8;

    /** A worker meeting other workers' creations of the same train retries this often, then drops. */
    private static final int MAX_ATTEMPTS = 16;
    /** The longest pause between two attempts, in spin-wait hints: a few microseconds. */
    private static final int MAX_BACKOFF_SPINS = 1 << 10;

    private static final int FREE_HEAD_OFFSET = 0;
    private static final int HELD_COUNT_OFFSET = BitUtil.CACHE_LINE_LENGTH;
    private static final int SOURCES_OFFSET = 2 * BitUtil.CACHE_LINE_LENGTH;
    private static final int SLOT_META_OFFSET = SOURCES_OFFSET + SOURCE_BUCKETS * 4;
    /** Per held slot: length, next (held chain or free list, as slot + 1), source bucket. */
    private static final int SLOT_META = 16;

    private final UnsafeBuffer trains;
    private final UnsafeBuffer control;
    private final UnsafeBuffer[] slots;
    private final int groups;
    private final int heldLimit;
    private final int sourceLimit;
    private final int slotLength;
    private final int timeoutMs;
    private final long seed;

    /**
     * @param trains      entries, a power of two, at least {@link #GROUP}
     * @param heldLimit   fragments held at once, all sources
     * @param sourceLimit fragments held at once per source address
     * @param slotLength  bytes of each held fragment's buffer: the largest fragment, plus what goes before it
     * @param timeoutMs   a train's life from its first fragment of any kind
     */
    public FragmentTable(
        final int trains, final int heldLimit, final int sourceLimit, final int slotLength, final int timeoutMs, final long seed)
    {
        if (trains < GROUP || Integer.bitCount(trains) != 1 || heldLimit < 1 || sourceLimit < 1 || slotLength < 64 || timeoutMs < 1)
        {
            throw new IllegalArgumentException("fragment table: trains " + trains + ", held " + heldLimit + "/" + sourceLimit +
                ", slot " + slotLength + ", timeout " + timeoutMs + " ms");
        }
        this.groups = trains / GROUP;
        this.heldLimit = heldLimit;
        this.sourceLimit = sourceLimit;
        this.slotLength = BitUtil.align(slotLength, BitUtil.CACHE_LINE_LENGTH);
        this.timeoutMs = timeoutMs;
        this.seed = seed;
        this.trains = OffHeapMemory.DIRECT.allocate(trains * STRIDE, BitUtil.CACHE_LINE_LENGTH);
        this.control = OffHeapMemory.DIRECT.allocate(SLOT_META_OFFSET + heldLimit * SLOT_META, BitUtil.CACHE_LINE_LENGTH);
        final UnsafeBuffer data = OffHeapMemory.DIRECT.allocate(heldLimit * this.slotLength, BitUtil.CACHE_LINE_LENGTH);
        this.slots = new UnsafeBuffer[heldLimit];
        for (int slot = heldLimit - 1; slot >= 0; slot--)
        {
            slots[slot] = new UnsafeBuffer(data, slot * this.slotLength, this.slotLength);
            pushFree(slot);
        }
    }

    /** What a worker learns from the table: the train it is on, the translation, and where its drops are counted. */
    public static final class Cursor
    {
        final WorkerCounters counters;
        int entry;
        int gen;
        int newSrc;
        int newDst;
        int sweepNext;
        /** Jitter for the pause after a lost race, so that two workers that backed off together do not meet again. */
        int random;

        public Cursor(final WorkerCounters counters)
        {
            this.counters = counters;
            this.random = System.identityHashCode(this) | 1;
        }

        /** Spins for a random, growing while: two workers that made the same train and both backed off part ways. */
        void backOff(final int attempt)
        {
            random ^= random << 13;
            random ^= random >>> 17;
            random ^= random << 5;
            final int spins = Math.min(MAX_BACKOFF_SPINS, 1 << attempt) + (random & (MAX_BACKOFF_SPINS - 1) >>> (10 - Math.min(10, attempt)));
            for (int i = 0; i < spins; i++)
            {
                Thread.onSpinWait();
            }
        }

        /** The translated source address of the last {@link #TRANSLATE} outcome. */
        public int newSrc()
        {
            return newSrc;
        }

        public int newDst()
        {
            return newDst;
        }
    }

    public int capacity()
    {
        return groups * GROUP;
    }

    public int heldLimit()
    {
        return heldLimit;
    }

    public int slotLength()
    {
        return slotLength;
    }

    public int timeoutMs()
    {
        return timeoutMs;
    }

    /** Forgets every train and gives every held buffer back: for a fresh start while no worker uses the table. */
    public void clear()
    {
        trains.setMemory(0, trains.capacity(), (byte)0);
        control.setMemory(0, control.capacity(), (byte)0);
        for (int slot = heldLimit - 1; slot >= 0; slot--)
        {
            pushFree(slot);
        }
    }

    /** Slots of the pool in use: fragments held, or released and not yet freed. */
    public int held()
    {
        return control.getIntVolatile(HELD_COUNT_OFFSET);
    }

    /** Trains alive now (a walk of the table: for tests and the control channel). */
    public int trains()
    {
        int live = 0;
        for (int e = 0; e < capacity(); e++)
        {
            live += phase(word(e)) == FREE ? 0 : 1;
        }
        return live;
    }

    /** The key's protocol and identification word, as {@link #piece} takes it. */
    public static int rest(final int protocol, final int identification)
    {
        return protocol << 16 | identification;
    }

    /**
     * Finds (or makes) the datagram's train for the piece {@code [start, end)} of its payload. A first fragment's
     * piece is logged at once; a later one's only if the train is translated: otherwise the caller holds it with
     * {@link #hold}, which logs it once the fragment is on the train's chain (logged first, the piece could
     * complete the train, and a done train may be freed before the fragment reached its chain).
     *
     * @param first the fragment at offset 0, which carries the L4 header, already translated by conntrack.
     * @param last  the fragment without more-fragments: {@code end} is the datagram's.
     * @return {@link #TRANSLATE} (the cursor has the translation), {@link #HOLD} (the train waits for its
     * first: {@link #hold} the fragment), {@link #SET} (a first fragment's train to be made {@link #ready}),
     * or the id of the drop reason: the train's (dropped now or before), or {@link DropReason#FRAGMENT_OVERLAP}
     * for a fragment that repeats a piece (dropped alone).
     */
    public int piece(
        final Cursor cursor, final long addresses, final int rest, final int start, final int end, final boolean last,
        final boolean first, final int headerLength, final int nowMs)
    {
        for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++)
        {
            final int entry = train(cursor, addresses, rest, nowMs);
            if (entry < 0)
            {
                return -entry - 1;
            }
            final int gen = cursor.gen;
            if (headerLength + end > MAX_DATAGRAM)
            {
                return dropTrain(cursor, entry, gen, DropReason.FRAGMENT_OVERSIZE);
            }
            final long word = word(entry);
            if (gen(word) != gen)
            {
                continue;
            }
            if (phase(word) == DROPPED)
            {
                return covered(word);
            }
            if (repeats(entry, gen, pieces(word), start, end))
            {
                return DropReason.FRAGMENT_OVERLAP.id();
            }
            if (!first && phase(word) != READY)
            {
                return HOLD;
            }
            final int outcome = count(cursor, entry, gen, start, end, last, first);
            if (outcome != RETRY)
            {
                return outcome;
            }
        }
        return DropReason.INSERT_FAILED.id();
    }

    /**
     * Counts the piece on the train the cursor is on: its bytes, the datagram's end, and (a first fragment) takes
     * the train to set it; then logs it and checks it against the other pieces.
     *
     * @return {@link #SET} or {@link #TRANSLATE} for a first fragment, {@link #TRANSLATE} for a later one the
     * translated train counted (the cursor has the translation), {@link #HOLD} for one counted before the
     * translation, {@link #RETRY} if the train ended first, or the id of the reason the train was dropped for.
     */
    private int count(
        final Cursor cursor, final int entry, final int gen, final int start, final int end, final boolean last, final boolean first)
    {
        int phase;
        int index;
        long counted;
        while (true)
        {
            final long word = word(entry);
            phase = phase(word);
            if (gen(word) != gen || phase < PENDING || phase == FREEING)
            {
                return RETRY;
            }
            if (phase == DROPPED)
            {
                return covered(word);
            }
            final int known = end(word);
            if (last ? known != 0 && known != end : known != 0 && end >= known)
            {
                return dropTrain(cursor, entry, gen, DropReason.FRAGMENT_OVERLAP);
            }
            final int covered = covered(word) + end - start;
            if (pieces(word) == MAX_PIECES)
            {
                return dropTrain(cursor, entry, gen, DropReason.FRAGMENT_LIMIT);
            }
            if (covered > MAX_DATAGRAM)
            {
                return dropTrain(cursor, entry, gen, DropReason.FRAGMENT_OVERLAP);
            }
            if (phase == READY && !first && !translation(cursor, entry, gen))
            {
                continue;
            }
            final int nextPhase = first && phase == PENDING ? SETTING : phase;
            counted = word(gen, nextPhase, pieces(word) + 1, covered, last ? end : known);
            if (casWord(entry, word, counted))
            {
                index = pieces(word);
                break;
            }
        }
        writePiece(entry, index, gen, start, end);
        if (overlaps(entry, gen, index, start, end))
        {
            return dropTrain(cursor, entry, gen, DropReason.FRAGMENT_OVERLAP);
        }
        if (first)
        {
            return phase == PENDING ? SET : TRANSLATE; // a second first fragment: the overlap check drops one of them
        }
        if (phase == READY)
        {
            completeIfCovered(entry, counted);
            return TRANSLATE;
        }
        return HOLD;
    }

    /**
     * Sets the translation of the train the cursor is on ({@link #SET} from {@link #piece}) and closes its held
     * chain: the fragments held on it are the caller's to translate, forward and {@link #free}.
     *
     * @return the first held slot of the chain, -1 for none; {@link #nextHeld} walks it.
     */
    public int ready(final Cursor cursor, final int newSrc, final int newDst)
    {
        final int entry = cursor.entry;
        final int gen = cursor.gen;
        final int offset = entry * STRIDE;
        trains.putIntVolatile(offset + NEW_SRC_OFFSET, newSrc);
        trains.putIntVolatile(offset + NEW_DST_OFFSET, newDst);
        final int head = closeChain(entry, gen, CHAIN_READY);
        while (true)
        {
            final long word = word(entry);
            if (gen(word) != gen || phase(word) != SETTING)
            {
                break; // dropped by another fragment's check meanwhile: what was held goes out all the same
            }
            final long ready = word & ~(7L << PHASE_SHIFT) | (long)READY << PHASE_SHIFT;
            if (casWord(entry, word, ready))
            {
                completeIfCovered(entry, ready);
                break;
            }
        }
        return head;
    }

    /**
     * Drops the train of a first fragment that was not forwarded (dropped, or answered), and so all its
     * fragments, held or to come, for {@code reason}.
     */
    public void dropDatagram(final Cursor cursor, final long addresses, final int rest, final DropReason reason, final int nowMs)
    {
        final int entry = train(cursor, addresses, rest, nowMs);
        if (entry >= 0)
        {
            dropTrain(cursor, entry, cursor.gen, reason);
        }
    }

    /**
     * Holds the fragment of {@code length} bytes at {@code offset} on the train the cursor is on ({@link #HOLD}
     * from {@link #piece}): copied into a free slot of the pool, at the same offset, put on the train's chain,
     * then its piece {@code [start, end)} counted. Once on the chain, the fragment is the train's: released with
     * it, or dropped (and counted) with it.
     *
     * @return {@link #HOLD}; {@link #TRANSLATE} if the train's translation came meanwhile (the fragment stays
     * where it was, the cursor has the translation); {@link #RETRY}; or the id of the drop reason.
     */
    public int hold(
        final Cursor cursor, final MutableDirectBuffer buffer, final int offset, final int length, final int source,
        final int start, final int end, final boolean last)
    {
        final int entry = cursor.entry;
        final int gen = cursor.gen;
        if (offset + length > slotLength)
        {
            return dropTrain(cursor, entry, gen, DropReason.FRAGMENT_LIMIT);
        }
        final int bucket = sourceBucket(source);
        if (control.getAndAddInt(SOURCES_OFFSET + bucket * 4, 1) >= sourceLimit)
        {
            control.getAndAddInt(SOURCES_OFFSET + bucket * 4, -1);
            return dropTrain(cursor, entry, gen, DropReason.FRAGMENT_LIMIT);
        }
        final int slot = popFree();
        if (slot < 0)
        {
            control.getAndAddInt(SOURCES_OFFSET + bucket * 4, -1);
            return dropTrain(cursor, entry, gen, DropReason.FRAGMENT_LIMIT);
        }
        slots[slot].putBytes(offset, buffer, offset, length);
        control.putInt(meta(slot), length);
        control.putInt(meta(slot) + 8, bucket);
        final int heldAt = entry * STRIDE + HELD_OFFSET;
        while (true)
        {
            final long held = trains.getLongVolatile(heldAt);
            if (heldGen(held) != gen)
            {
                free(slot);
                return RETRY;
            }
            final int state = heldState(held);
            if (state == CHAIN_DROPPED)
            {
                free(slot);
                final long word = word(entry);
                return gen(word) == gen && phase(word) == DROPPED ? covered(word) : DropReason.FRAGMENT_TIMEOUT.id();
            }
            if (state == CHAIN_READY)
            {
                // the translation was written before the chain was closed: read it while the train is this one
                free(slot);
                if (!translation(cursor, entry, gen))
                {
                    return RETRY;
                }
                final int newSrc = cursor.newSrc;
                final int newDst = cursor.newDst;
                final int outcome = count(cursor, entry, gen, start, end, last, false);
                cursor.newSrc = newSrc;
                cursor.newDst = newDst;
                return outcome == HOLD || outcome == RETRY ? TRANSLATE : outcome;
            }
            control.putInt(meta(slot) + 4, (int)held & 0x7FFF_FFFF);
            if (trains.compareAndSetLong(heldAt, held, held & ~0x7FFF_FFFFL | slot + 1))
            {
                count(cursor, entry, gen, start, end, last, false); // whatever becomes of the train, it has the fragment
                return HOLD;
            }
        }
    }

    /** The held slot after {@code slot} in its chain, -1 at the end. */
    public int nextHeld(final int slot)
    {
        return control.getInt(meta(slot) + 4) - 1;
    }

    /** The buffer of a held slot: the fragment sits at the offset it was held from. */
    public UnsafeBuffer heldBuffer(final int slot)
    {
        return slots[slot];
    }

    public int heldLength(final int slot)
    {
        return control.getInt(meta(slot));
    }

    /** Gives a held slot back to the pool (after its fragment was written, or dropped). */
    public void free(final int slot)
    {
        control.getAndAddInt(HELD_COUNT_OFFSET, -1);
        control.getAndAddInt(SOURCES_OFFSET + control.getInt(meta(slot) + 8) * 4, -1);
        pushFree(slot);
    }

    /**
     * Ends the trains past their deadline among the next {@code count} entries (a slice per call, as the
     * conntrack reaper does), their held fragments dropped and counted {@link DropReason#FRAGMENT_TIMEOUT}.
     *
     * @return trains ended.
     */
    public int expire(final Cursor cursor, final int nowMs, final int count)
    {
        int ended = 0;
        final int capacity = capacity();
        for (int i = 0; i < count; i++)
        {
            final int entry = cursor.sweepNext;
            cursor.sweepNext = entry + 1 == capacity ? 0 : entry + 1;
            final long word = word(entry);
            if (expirable(word) && expired(entry, nowMs) && reclaim(cursor, entry, word))
            {
                ended++;
            }
        }
        return ended;
    }

    /**
     * The train of the key: found, or made in its group (a free entry, an expired one, or the translated one
     * nearest its deadline). Returns the entry (the cursor has its generation), or {@code -(drop reason id) - 1}.
     */
    private int train(final Cursor cursor, final long addresses, final int rest, final int nowMs)
    {
        final int group = group(addresses, rest);
        for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++)
        {
            int free = -1;
            int victim = -1;
            long victimWord = 0;
            int victimDeadline = 0;
            boolean busy = false;
            for (int i = 0; i < GROUP; i++)
            {
                final int entry = group + i;
                final long word = word(entry);
                final int phase = phase(word);
                if (phase == FREE)
                {
                    free = free < 0 ? entry : free;
                    continue;
                }
                if (phase == FREEING)
                {
                    continue;
                }
                final boolean mine = phase != DONE && sameKey(entry, word, addresses, rest);
                if (mine && phase == KEYED)
                {
                    busy = true;
                    continue;
                }
                if (expirable(word) && expired(entry, nowMs))
                {
                    if (reclaim(cursor, entry, word))
                    {
                        free = free < 0 ? entry : free;
                    }
                    continue;
                }
                if (mine)
                {
                    cursor.entry = entry;
                    cursor.gen = gen(word);
                    return entry;
                }
                // the victim: a done train, else the translated or dropped one nearest its deadline (none waits)
                final int deadline = phase == DONE ? Integer.MIN_VALUE : deadline(entry);
                if ((phase == DONE || phase == READY || phase == DROPPED) && (victim < 0 || deadline < victimDeadline))
                {
                    victim = entry;
                    victimWord = word;
                    victimDeadline = deadline;
                }
            }
            if (busy)
            {
                cursor.backOff(attempt);
                continue;
            }
            if (free < 0)
            {
                if (victim < 0)
                {
                    return -DropReason.FRAGMENT_LIMIT.id() - 1;
                }
                // as found: by now the entry may hold another train, which the CAS on its word leaves alone
                if (!reclaim(cursor, victim, victimWord))
                {
                    continue;
                }
                free = victim;
            }
            if (claim(cursor, group, free, addresses, rest, nowMs))
            {
                return free;
            }
            cursor.backOff(attempt);
        }
        return -DropReason.INSERT_FAILED.id() - 1;
    }

    /** Takes the free entry for the key; backs off if another worker is making the same train at once. */
    private boolean claim(final Cursor cursor, final int group, final int entry, final long addresses, final int rest, final int nowMs)
    {
        final long word = word(entry);
        final int gen = gen(word);
        // KEYED before the key is written: a lookup meeting the old key here takes it for a train being made, and retries
        if (phase(word) != FREE || !casWord(entry, word, word(gen, KEYED, 0, 0, 0)))
        {
            return false;
        }
        final int offset = entry * STRIDE;
        trains.putLongVolatile(offset + ADDRESSES_OFFSET, addresses);
        trains.putIntVolatile(offset + REST_OFFSET, rest);
        trains.putIntVolatile(offset + DEADLINE_OFFSET, nowMs + timeoutMs);
        trains.putLongVolatile(offset + HELD_OFFSET, (long)gen << HELD_GEN_SHIFT);
        // Dekker with any other maker of this key: each published its key, then looks; at least one sees the other
        for (int i = 0; i < GROUP; i++)
        {
            final int other = group + i;
            if (other != entry)
            {
                final long otherWord = word(other);
                final int phase = phase(otherWord);
                if (phase >= KEYED && phase != FREEING && sameKey(other, otherWord, addresses, rest))
                {
                    trains.putLongVolatile(offset + WORD_OFFSET, word(gen + 1, FREE, 0, 0, 0));
                    return false;
                }
            }
        }
        trains.putLongVolatile(offset + WORD_OFFSET, word(gen, PENDING, 0, 0, 0));
        cursor.entry = entry;
        cursor.gen = gen;
        return true;
    }

    /** Ends the train found as {@code word}: its held fragments (a waiting train's) dropped as timed out. */
    private boolean reclaim(final Cursor cursor, final int entry, final long word)
    {
        if (!casWord(entry, word, word & ~(7L << PHASE_SHIFT) | (long)FREEING << PHASE_SHIFT))
        {
            return false;
        }
        final int gen = gen(word);
        dropChain(cursor, closeChain(entry, gen, CHAIN_DROPPED), DropReason.FRAGMENT_TIMEOUT);
        trains.putLongVolatile(entry * STRIDE + WORD_OFFSET, word(gen + 1, FREE, 0, 0, 0));
        return true;
    }

    /** Drops the train (if it still is this generation's and not dropped already) and what it holds; returns the reason's id. */
    private int dropTrain(final Cursor cursor, final int entry, final int gen, final DropReason reason)
    {
        while (true)
        {
            final long word = word(entry);
            final int phase = phase(word);
            if (gen(word) != gen || phase < PENDING || phase == FREEING)
            {
                return reason.id();
            }
            if (phase == DROPPED)
            {
                return covered(word);
            }
            if (casWord(entry, word, word(gen, DROPPED, 0, reason.id(), 0)))
            {
                dropChain(cursor, closeChain(entry, gen, CHAIN_DROPPED), reason);
                return reason.id();
            }
        }
    }

    /**
     * A translated train whose pieces cover the datagram is done: no lookup finds it, so the next datagram with
     * its identification starts a train of its own. Not freed yet: a fragment counted a moment ago may still read
     * its translation.
     */
    private void completeIfCovered(final int entry, final long counted)
    {
        if (end(counted) != 0 && covered(counted) == end(counted))
        {
            casWord(entry, counted, counted & ~(7L << PHASE_SHIFT) | (long)DONE << PHASE_SHIFT);
        }
    }

    /** Closes the train's held chain with {@code state}; returns its first slot, -1 for none or if closed before. */
    private int closeChain(final int entry, final int gen, final int state)
    {
        final int heldAt = entry * STRIDE + HELD_OFFSET;
        while (true)
        {
            final long held = trains.getLongVolatile(heldAt);
            if (heldGen(held) != gen || heldState(held) != CHAIN_OPEN)
            {
                return -1;
            }
            if (trains.compareAndSetLong(heldAt, held, (long)gen << HELD_GEN_SHIFT | (long)state << HELD_STATE_SHIFT))
            {
                return ((int)held & 0x7FFF_FFFF) - 1;
            }
        }
    }

    private void dropChain(final Cursor cursor, final int head, final DropReason reason)
    {
        int slot = head;
        while (slot >= 0)
        {
            final int next = nextHeld(slot);
            free(slot);
            cursor.counters.drop(reason);
            slot = next;
        }
    }

    /** Reads the translated train's translation into the cursor; false if the train ended meanwhile. */
    private boolean translation(final Cursor cursor, final int entry, final int gen)
    {
        final int offset = entry * STRIDE;
        cursor.newSrc = trains.getIntVolatile(offset + NEW_SRC_OFFSET);
        cursor.newDst = trains.getIntVolatile(offset + NEW_DST_OFFSET);
        return gen(word(entry)) == gen;
    }

    /** True if an earlier piece of this generation holds all of {@code [start, end)}: a repeated fragment. */
    private boolean repeats(final int entry, final int gen, final int pieces, final int start, final int end)
    {
        final int base = entry * STRIDE + PIECES_OFFSET;
        for (int i = 0; i < pieces; i++)
        {
            final long piece = trains.getLongVolatile(base + i * 8);
            if (pieceGen(piece) == gen && pieceStart(piece) <= start && end <= pieceEnd(piece))
            {
                return true;
            }
        }
        return false;
    }

    /** True if another piece of this generation meets {@code [start, end)}, or a piece lies past the datagram's end. */
    private boolean overlaps(final int entry, final int gen, final int index, final int start, final int end)
    {
        final long word = word(entry);
        if (gen(word) != gen)
        {
            return false;
        }
        final int known = end(word);
        if (known != 0 && end > known)
        {
            return true;
        }
        final int base = entry * STRIDE + PIECES_OFFSET;
        final int pieces = pieces(word);
        for (int i = 0; i < pieces; i++)
        {
            final long piece = trains.getLongVolatile(base + i * 8);
            if (i != index && pieceGen(piece) == gen &&
                (pieceStart(piece) < end && start < pieceEnd(piece) || known != 0 && pieceEnd(piece) > known))
            {
                return true;
            }
        }
        return false;
    }

    /** Writes piece {@code index}, unless a newer generation's piece is there already (this train ended). */
    private void writePiece(final int entry, final int index, final int gen, final int start, final int end)
    {
        final int at = entry * STRIDE + PIECES_OFFSET + index * 8;
        final long piece = (long)gen << 34 | (long)start << 17 | end;
        while (true)
        {
            final long old = trains.getLongVolatile(at);
            if (old != 0 && ((pieceGen(old) - gen) & GEN_MASK) != 0 && ((pieceGen(old) - gen) & GEN_MASK) < GEN_MASK / 2)
            {
                return;
            }
            if (trains.compareAndSetLong(at, old, piece))
            {
                return;
            }
        }
    }

    private int popFree()
    {
        while (true)
        {
            final long head = control.getLongVolatile(FREE_HEAD_OFFSET);
            final int slot = (int)head - 1;
            if (slot < 0)
            {
                return -1;
            }
            final int next = control.getIntVolatile(meta(slot) + 4);
            if (control.compareAndSetLong(FREE_HEAD_OFFSET, head, ((head >>> 32) + 1) << 32 | (next & 0xFFFF_FFFFL)))
            {
                control.putInt(meta(slot) + 4, 0);
                control.getAndAddInt(HELD_COUNT_OFFSET, 1);
                return slot;
            }
        }
    }

    private void pushFree(final int slot)
    {
        while (true)
        {
            final long head = control.getLongVolatile(FREE_HEAD_OFFSET);
            control.putIntVolatile(meta(slot) + 4, (int)head);
            if (control.compareAndSetLong(FREE_HEAD_OFFSET, head, ((head >>> 32) + 1) << 32 | slot + 1))
            {
                return;
            }
        }
    }

    private boolean sameKey(final int entry, final long word, final long addresses, final int rest)
    {
        final int offset = entry * STRIDE;
        return trains.getLongVolatile(offset + ADDRESSES_OFFSET) == addresses &&
            trains.getIntVolatile(offset + REST_OFFSET) == rest &&
            gen(word(entry)) == gen(word);
    }

    private boolean expired(final int entry, final int nowMs)
    {
        return deadline(entry) - nowMs < 0;
    }

    private int deadline(final int entry)
    {
        return trains.getIntVolatile(entry * STRIDE + DEADLINE_OFFSET);
    }

    /** Phases a deadline may end: not one a worker is in the middle of (making it, setting it, freeing it). */
    private static boolean expirable(final long word)
    {
        final int phase = phase(word);
        return phase == PENDING || phase == READY || phase == DROPPED || phase == DONE;
    }

    private int group(final long addresses, final int rest)
    {
        long h = (addresses ^ seed) * 0x9E37_79B9_7F4A_7C15L;
        h = (h ^ h >>> 29 ^ rest) * 0xBF58_476D_1CE4_E5B9L;
        h ^= h >>> 32;
        return (int)((h & 0xFFFF_FFFFL) * groups >>> 32) * GROUP;
    }

    private int sourceBucket(final int source)
    {
        final long h = ((source & 0xFFFF_FFFFL) ^ seed) * 0x9E37_79B9_7F4A_7C15L;
        return (int)(h >>> 52) & (SOURCE_BUCKETS - 1);
    }

    private static int meta(final int slot)
    {
        return SLOT_META_OFFSET + slot * SLOT_META;
    }

    private long word(final int entry)
    {
        return trains.getLongVolatile(entry * STRIDE + WORD_OFFSET);
    }

    private boolean casWord(final int entry, final long expected, final long update)
    {
        return trains.compareAndSetLong(entry * STRIDE + WORD_OFFSET, expected, update);
    }

    static long word(final int gen, final int phase, final int pieces, final int covered, final int end)
    {
        return (long)(gen & GEN_MASK) << GEN_SHIFT | (long)phase << PHASE_SHIFT | (long)pieces << PIECES_SHIFT |
            (long)covered << COVERED_SHIFT | end;
    }

    static int gen(final long word)
    {
        return (int)(word >>> GEN_SHIFT) & GEN_MASK;
    }

    static int phase(final long word)
    {
        return (int)(word >>> PHASE_SHIFT) & 7;
    }

    static int pieces(final long word)
    {
        return (int)(word >>> PIECES_SHIFT) & 0x7F;
    }

    static int covered(final long word)
    {
        return (int)(word >>> COVERED_SHIFT) & FIELD17;
    }

    static int end(final long word)
    {
        return (int)word & FIELD17;
    }

    private static int heldGen(final long held)
    {
        return (int)(held >>> HELD_GEN_SHIFT) & GEN_MASK;
    }

    private static int heldState(final long held)
    {
        return (int)(held >>> HELD_STATE_SHIFT) & 3;
    }

    private static int pieceGen(final long piece)
    {
        return (int)(piece >>> 34) & GEN_MASK;
    }

    private static int pieceStart(final long piece)
    {
        return (int)(piece >>> 17) & FIELD17;
    }

    private static int pieceEnd(final long piece)
    {
        return (int)piece & FIELD17;
    }
}
