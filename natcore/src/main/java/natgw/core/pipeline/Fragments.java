package natgw.core.pipeline;

import java.nio.ByteOrder;

import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import natgw.core.conntrack.ConntrackCounter;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.core.fragment.FragmentTable;
import natgw.core.packet.DropReason;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.VirtioNetHeader;

/**
 * The fragment stage (VPP: NAT44's virtual reassembly; Linux reassembles in {@code ip_defrag} instead): a
 * datagram's first fragment, which carries the L4 header, takes the full path like any packet and teaches its
 * {@link FragmentTable} train the addresses it went out with; the later fragments get those addresses (and the
 * IP checksum's update), or, before the first came, are held and released when it comes. The first fragment's
 * L4 checksum is updated incrementally by the rewrite, which is right without the rest of the datagram.
 * <p>
 * Fail closed: a fragment goes out only with its first fragment's translation, or is held, or dropped.
 * Released fragments wait in the pool's buffers, written by the worker after the batch and freed by the
 * next {@link #clearReleased}.
 */
final class Fragments
{
    /** How often a worker walks a slice of the table for trains past their deadline. */
    static final int SWEEP_INTERVAL_MS = 100;
    /** A retry after the train ended under the fragment, once. */
    private static final int ATTEMPTS = 2;

    private final WorkerCounters counters;
    private final Batch batch;
    private final VirtioNetHeader vnet = new VirtioNetHeader();
    private FragmentTable table;
    private FragmentTable.Cursor cursor;
    private int[] released;
    private int releasedCount;
    private int vnetLength;
    private int nextSweepMs;
    private boolean swept;

    Fragments(final FragmentTable table, final WorkerCounters counters, final Batch batch)
    {
        this.counters = counters;
        this.batch = batch;
        table(table);
    }

    void table(final FragmentTable table)
    {
        this.table = table;
        this.cursor = new FragmentTable.Cursor(counters);
        this.released = new int[table.heldLimit()];
        this.releasedCount = 0;
    }

    FragmentTable table()
    {
        return table;
    }

    void vnetLength(final int vnetLength)
    {
        this.vnetLength = vnetLength;
    }

    /**
     * A fragment after the first, validated into slot {@code j}: translated as its first was, held, or dropped.
     *
     * @return FORWARD, {@link Verdict#HELD}, or a drop.
     */
    int later(final MutableDirectBuffer buffer, final int offset, final int j, final int nowMs)
    {
        final Batch batch = this.batch;
        final long addresses = batch.addresses(j);
        final int fields = batch.fields[j];
        final int fragment = batch.fragments[j];
        final int ihl = Batch.ihl(fields);
        final int totalLength = Batch.totalLength(fields);
        final int start = batch.fragmentOffsets[j];
        final int rest = FragmentTable.rest(FlowTuple.protocol(batch.ports(j)), Batch.identification(fragment));
        final int end = start + totalLength - ihl;
        final boolean last = !Batch.moreFragments(fragment);
        for (int attempt = 0; attempt < ATTEMPTS; attempt++)
        {
            int outcome = table.piece(cursor, addresses, rest, start, end, last, false, ihl, nowMs);
            if (outcome == FragmentTable.HOLD)
            {
                outcome = table.hold(cursor, buffer, offset - vnetLength, vnetLength + totalLength, FlowTuple.srcAddress(addresses),
                    start, end, last);
                if (outcome == FragmentTable.HOLD)
                {
                    counters.increment(ConntrackCounter.FRAGMENTS_HELD);
                    return Verdict.HELD;
                }
            }
            if (outcome == FragmentTable.TRANSLATE)
            {
                Rewrite.rewriteFragment(buffer, offset, cursor.newSrc(), cursor.newDst());
                counters.increment(ConntrackCounter.FRAGMENTS);
                return Verdict.FORWARD;
            }
            if (outcome != FragmentTable.RETRY)
            {
                return outcome;
            }
        }
        return Verdict.drop(DropReason.INSERT_FAILED);
    }

    /**
     * A first fragment after the full path gave it {@code verdict}: forwarded, it sets its train's translation
     * from the addresses it now has and releases what the train held; not forwarded (dropped, or answered), it
     * drops its train for the same reason.
     */
    int first(final MutableDirectBuffer buffer, final int offset, final int j, final int verdict, final int nowMs)
    {
        final Batch batch = this.batch;
        final long addresses = batch.addresses(j);
        final int fragment = batch.fragments[j];
        final int rest = FragmentTable.rest(FlowTuple.protocol(batch.ports(j)), Batch.identification(fragment));
        if (verdict != Verdict.FORWARD || batch.answered)
        {
            table.dropDatagram(cursor, addresses, rest, Verdict.isDrop(verdict) ? Verdict.dropReason(verdict) : DropReason.FRAGMENT, nowMs);
            return verdict;
        }
        final int fields = batch.fields[j];
        final int ihl = Batch.ihl(fields);
        final int outcome = table.piece(cursor, addresses, rest, 0, Batch.totalLength(fields) - ihl, false, true, ihl, nowMs);
        if (outcome == FragmentTable.SET)
        {
            final int newSrc = buffer.getInt(offset + Ipv4Header.SRC_ADDRESS_OFFSET, ByteOrder.BIG_ENDIAN);
            final int newDst = buffer.getInt(offset + Ipv4Header.DST_ADDRESS_OFFSET, ByteOrder.BIG_ENDIAN);
            release(table.ready(cursor, newSrc, newDst), offset - vnetLength, newSrc, newDst);
        }
        else if (outcome != FragmentTable.TRANSLATE)
        {
            return outcome;
        }
        counters.increment(ConntrackCounter.FRAGMENTS);
        return Verdict.FORWARD;
    }

    /** Translates the chain of held fragments, in the order they came, onto the released list. */
    private void release(final int head, final int packetOffset, final int newSrc, final int newDst)
    {
        final int from = releasedCount;
        for (int slot = head; slot >= 0; slot = table.nextHeld(slot))
        {
            final UnsafeBuffer held = table.heldBuffer(slot);
            Rewrite.rewriteFragment(held, packetOffset + vnetLength, newSrc, newDst);
            Rewrite.restoreHop(held, packetOffset + vnetLength); // written by the worker, past the pipeline's own hop
            if (vnetLength != 0)
            {
                vnet.wrap(held, packetOffset).clear();
            }
            released[releasedCount++] = slot;
        }
        counters.add(ConntrackCounter.FRAGMENTS_RELEASED, releasedCount - from);
        counters.add(ConntrackCounter.FRAGMENTS, releasedCount - from);
        for (int i = from, k = releasedCount - 1; i < k; i++, k--)
        {
            final int slot = released[i];
            released[i] = released[k];
            released[k] = slot;
        }
    }

    int releasedCount()
    {
        return releasedCount;
    }

    UnsafeBuffer releasedBuffer(final int i)
    {
        return table.heldBuffer(released[i]);
    }

    int releasedLength(final int i)
    {
        return table.heldLength(released[i]);
    }

    /** Gives the released fragments' buffers back to the pool: they were written (or could not be). */
    void clearReleased()
    {
        for (int i = 0; i < releasedCount; i++)
        {
            table.free(released[i]);
        }
        releasedCount = 0;
    }

    /** Every {@link #SWEEP_INTERVAL_MS}, ends a slice of the table's trains past their deadline. */
    void sweep(final int nowMs)
    {
        if (swept && nowMs - nextSweepMs < 0)
        {
            return;
        }
        swept = true;
        nextSweepMs = nowMs + SWEEP_INTERVAL_MS;
        table.expire(cursor, nowMs, Math.max(FragmentTable.GROUP, table.capacity() / 16));
    }
}
