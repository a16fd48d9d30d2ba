package natgw.core.pipeline;

import org.agrona.MutableDirectBuffer;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.flow.FlowTuple;
import natgw.core.nat.ServiceTable;
import natgw.core.packet.IcmpHeader;
import natgw.core.packet.Ipv4Header;

import static natgw.core.conntrack.StatusDescriptor.isConfirmed;

/**
 * The lookup stage's batch work and its steady path (Linux: {@code nf_conntrack_core.c}'s lookup, with
 * VPP's group prefetching). {@link #lookAhead} loads the table lines a batch's lookups will touch before
 * any of them runs; {@link #steady} takes the packet most traffic is, a TCP or UDP packet of a confirmed
 * connection that leaves its status as it found it, through lookup, tracking and rewrite with nothing the
 * others need (no cursor, no flyweight, no policy). Whatever it declines, it declines before any change,
 * and the pipeline's full path takes it.
 */
final class Lookup
{
    /**
     * Nodes of each chain the look-ahead loads: a hit visits few, but a line the look-ahead left out is a miss
     * the walk waits on alone (the distribution measured is in docs/BENCHMARKS.md).
     */
    private static final int NODES_AHEAD = 3;

    private final ConntrackTable table;
    private final Tracking tracking;
    private final Batch batch;
    private final IcmpHeader icmp;
    /** The look-ahead's walk: the node packet j's lookup is at. */
    private final int[] ahead = new int[Pipeline.LOOKAHEAD];
    /** Where the look-ahead's loads end up, so the compiler keeps them. */
    long lookAheadSink;

    Lookup(final ConntrackTable table, final Tracking tracking, final Batch batch, final IcmpHeader icmp)
    {
        this.table = table;
        this.tracking = tracking;
        this.batch = batch;
        this.icmp = icmp;
    }

    /**
     * Loads the table lines the lookups of the parsed packets {@code start..end-1} will touch, in six
     * passes over the batch: their buckets, the first nodes' lines, then twice a comparison that names each
     * chain's next node where this one does not hold the tuple, and those lines. No load of a pass feeds a
     * branch or an address in the same pass, and a pass is a few instructions a packet, so the core keeps
     * as many misses in flight as its reorder window holds iterations. A hint only: the lookups proper
     * follow. Other slots walk bucket 0, which is harmless.
     */
    void lookAhead(final int[] verdicts, final int start, final int end)
    {
        final ConntrackTable table = this.table;
        final int[] ahead = this.ahead;
        final int[] buckets = batch.buckets;
        final long[] keys = batch.keys;
        final int count = end - start;
        for (int j = 0; j < count; j++)
        {
            ahead[j] = table.prefetch(verdicts[start + j] == Verdict.PARSED ? buckets[j] : 0);
        }
        long sink = 0;
        for (int node = 1; ; node++)
        {
            for (int j = 0; j < count; j++)
            {
                sink += table.touch(ahead[j]);
            }
            if (node == NODES_AHEAD)
            {
                break;
            }
            for (int j = 0; j < count; j++)
            {
                ahead[j] = table.prefetchStep(ahead[j], keys[2 * j], keys[2 * j + 1]);
            }
        }
        lookAheadSink = sink;
    }

    /**
     * Lookup, tracking and rewrite for the packet validation left in slot {@code j}, if it is TCP or UDP of
     * a confirmed connection that the packet leaves in the status it found (its TCP state, the reply and
     * assured flags already as the packet would set them), without SYN, FIN or RST (whose sequence the full path's
     * tracking records), and not bound for a removed backend.
     * It looks up with {@link ConntrackTable#findLinked}, counts, moves the deadline and rewrites, with no
     * flyweight. Any other packet, or a lookup that met a concurrent change, it leaves as it found it and
     * returns {@link Verdict#PARSED}: the full path takes the packet from the start.
     */
    int steady(final MutableDirectBuffer buffer, final int offset, final int nowMs, final ServiceTable serviceTable, final int j)
    {
        final Batch batch = this.batch;
        final long addresses = batch.addresses(j);
        final long ports = batch.ports(j);
        final int fields = batch.fields[j];
        final int protocol = FlowTuple.protocol(ports);
        final int tcpFlags = Batch.tcpFlags(fields);
        if (protocol == Ipv4Header.PROTO_ICMP || (tcpFlags & Tracking.SEQUENCE_FLAGS) != 0) // UDP: no flags
        {
            return Verdict.PARSED;
        }
        final ConntrackTable table = this.table;
        final long hit = table.findLinked(addresses, ports, batch.buckets[j]);
        if (hit == ConntrackTable.NOT_FOUND)
        {
            return Verdict.PARSED;
        }
        final int entry = ConntrackTable.foundEntry(hit);
        final int dir = ConntrackTable.foundDir(hit);
        final int status = ConntrackTable.foundStatus(hit);
        if (!isConfirmed(status) || !tracking.leavesAsFound(entry, dir, protocol, tcpFlags, status, nowMs))
        {
            return Verdict.PARSED;
        }
        final long otherAddresses = table.tupleAddresses(entry, dir ^ 1);
        final long otherPorts = table.tuplePorts(entry, dir ^ 1);
        final int backend = tracking.backendOf(entry, status);
        if (!table.sameIncarnation(entry, status) || backend >= 0 && serviceTable.isRemoved(backend))
        {
            return Verdict.PARSED;
        }
        batch.found++;
        final int offloads = batch.offloads[j];
        table.account(entry, dir, Batch.segments(offloads), batch.wireBytes[j]);
        tracking.refreshDeadline(entry, protocol, status, nowMs);
        Rewrite.rewrite(buffer, offset, Batch.ihl(fields), protocol, Batch.partialChecksum(offloads),
            addresses, ports, otherAddresses, otherPorts, icmp);
        return Verdict.FORWARD;
    }
}
