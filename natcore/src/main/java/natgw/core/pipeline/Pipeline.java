package natgw.core.pipeline;

import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import natgw.core.conntrack.ConntrackCounter;
import natgw.core.conntrack.ConntrackEvents;
import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.Timeouts;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.core.fragment.FragmentTable;
import natgw.core.nat.AffinityTable;
import natgw.core.nat.BackendCounters;
import natgw.core.nat.EndpointDependence;
import natgw.core.nat.NatAllocator;
import natgw.core.nat.ServiceTable;
import natgw.core.nat.Services;
import natgw.core.nat.SnatPolicy;
import natgw.core.packet.DropReason;
import natgw.core.packet.IcmpHeader;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.TcpHeader;
import natgw.core.packet.UdpHeader;
import natgw.core.packet.VirtioNetHeader;

import static natgw.core.conntrack.StatusDescriptor.isConfirmed;

/**
 * One worker's packet path, pure: a buffer in, a verdict out, the packet rewritten in place. A short loop
 * over the stages, a class each, in the order a packet meets them:
 * <pre>
 * Packet flow:
 *   1. validate IPv4, then TCP/UDP/ICMP (each failure is one counted {@link DropReason})     {@link Validation}
 *   2. flow key: the packet's tuple (FlowTuple)                                              {@link Validation}
 *   3. conntrack lookup: either direction, one operation                                     {@link Lookup}
 *   4. on a miss, policy: DNAT to a scheduled backend for a service VIP:port (plus SNAT when the
 *      client is inside or is the backend itself: hairpin), SNAT for inside sources (NatAllocator
 *      creates the connection, on the endpoint's mapping), to a pool address: hairpin from inside,
 *      the filtering's verdict from outside; forward anything else unchanged; a flow whose backend
 *      was removed is ended with a TCP RST or ICMP unreachable                                   {@link Policy}
 *   5. track: TCP state (and the original direction's sequence end on SYN, FIN, RST), timeout,
 *      SEEN_REPLY/ASSURED, counters                                                             {@link Tracking}
 *   6. rewrite: the target tuple is the inverse of the other direction's tuple (nf_nat_manip_pkt),
 *      checksums updated incrementally (RFC 1624)                                             {@link Rewrite}
 *      ICMP errors: outer and embedded headers                                   {@link IcmpErrorTranslation}
 *   7. fragments: a first fragment teaches its train its translation; a later one takes it, or is
 *      held until its first comes                                                           {@link Fragments}
 *   8. one hop: every packet forwarded (translated or not, not an answer natgw built) gets back the
 *      TTL the kernel took on its way into the TUN, so the gateway is one hop, not two   {@link Rewrite#restoreHop}
 * </pre>
 * Most packets change nothing but counters and the deadline: a TCP or UDP packet of a confirmed
 * connection that leaves its status as it found it. {@link Lookup#steady} does 3, 5 and 6 for those with
 * nothing the others need; whatever it declines, it declines before any change, and the full path takes
 * it. Each stage returns a {@link Verdict}.
 * <p>
 * A batch ({@link #process(MutableDirectBuffer[], int, int[], int, long, int[], int[])}) first walks all
 * its packets' lookups ahead of time, one chain step per pass over the batch, so that the table's cache
 * misses of many packets are in flight at once (group prefetching, as in VPP's graph nodes); then each
 * packet takes the path above and finds its lines in cache.
 * <p>
 * Not thread-safe: one per worker. Allocates nothing per packet.
 */
public final class Pipeline
{
    /** {@link #process} verdict for a packet to be written back to the TUN. */
    public static final int FORWARD = Verdict.FORWARD;
    /**
     * {@link #process} verdict for a fragment held until its datagram's first fragment comes: neither written
     * nor dropped now; it comes out later among the {@link #releasedCount released} fragments, or is dropped.
     */
    public static final int HELD = Verdict.HELD;
    /** The fragment table of a pipeline not given one (tests, benchmarks): room for a few datagrams. */
    private static final int DEFAULT_FRAGMENT_TRAINS = FragmentTable.GROUP;
    private static final int DEFAULT_FRAGMENTS_HELD = 8;
    private static final int DEFAULT_FRAGMENT_SLOT = 2048;
    private static final int DEFAULT_FRAGMENT_TIMEOUT_MS = 30_000;
    /** Packets whose lookups are walked ahead together: enough to keep the core's miss buffers busy. */
    public static final int LOOKAHEAD = 64;

    /** Bounded: a lookup that keeps meeting concurrent changes (a lost insert race, a reopen) gives up. */
    private static final int MAX_LOOKUPS = 4;

    private final Ipv4Header ip = new Ipv4Header();
    private final TcpHeader tcp = new TcpHeader();
    private final UdpHeader udp = new UdpHeader();
    private final IcmpHeader icmp = new IcmpHeader();
    private final VirtioNetHeader vnet = new VirtioNetHeader();
    private final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
    private final Batch batch = new Batch();

    private final ConntrackTable table;
    private final WorkerCounters counters;
    private final Services services;
    private final Validation validation;
    private final Lookup lookup;
    private final Policy policy;
    private final Tracking tracking;
    private final IcmpErrorTranslation icmpErrors;
    private final Fragments fragments;
    /** Bytes of virtio-net header before each packet: 0, or {@link VirtioNetHeader#LENGTH} with offloads. */
    private int vnetLength;
    private long reportedRestarts;

    public Pipeline(
        final ConntrackTable table,
        final NatAllocator allocator,
        final SnatPolicy snat,
        final Timeouts timeouts,
        final WorkerCounters counters,
        final boolean verifyL4Checksums)
    {
        this(table, allocator, snat, timeouts, counters, verifyL4Checksums, new Services(), new BackendCounters(),
            new AffinityTable(16), true);
    }

    /**
     * @param resetRemovedBackendFlows true: a TCP packet of a flow whose backend was removed is answered
     *                                 with a RST (other protocols: ICMP host unreachable); false: ICMP
     *                                 host unreachable for all.
     */
    public Pipeline(
        final ConntrackTable table,
        final NatAllocator allocator,
        final SnatPolicy snat,
        final Timeouts timeouts,
        final WorkerCounters counters,
        final boolean verifyL4Checksums,
        final Services services,
        final BackendCounters backendCounters,
        final AffinityTable affinity,
        final boolean resetRemovedBackendFlows)
    {
        this.table = table;
        this.counters = counters;
        this.services = services;
        this.tracking = new Tracking(table, cursor, timeouts, counters, backendCounters);
        this.policy = new Policy(table, cursor, allocator, snat, counters, backendCounters, affinity, resetRemovedBackendFlows,
            tracking, batch, ip, tcp, icmp);
        this.validation = new Validation(table, counters, verifyL4Checksums, policy, batch, icmp);
        this.lookup = new Lookup(table, tracking, batch, icmp);
        this.icmpErrors = new IcmpErrorTranslation(table, cursor, counters, backendCounters, tracking, policy, batch, ip, icmp);
        this.fragments = new Fragments(new FragmentTable(DEFAULT_FRAGMENT_TRAINS, DEFAULT_FRAGMENTS_HELD, DEFAULT_FRAGMENTS_HELD,
            DEFAULT_FRAGMENT_SLOT, DEFAULT_FRAGMENT_TIMEOUT_MS, 0x5EED), counters, batch);
    }

    /**
     * The fragment table this pipeline shares with the other workers' (a gateway's one table); set before the
     * worker starts. A fragment held in it may come out of any worker that shares it. Held fragments are kept
     * at the offset they were processed at: every pipeline sharing a table processes at one offset.
     */
    public Pipeline fragments(final FragmentTable fragmentTable)
    {
        fragments.table(fragmentTable);
        return this;
    }

    public FragmentTable fragmentTable()
    {
        return fragments.table();
    }

    /**
     * Which outside endpoints may open a connection to a live endpoint-independent mapping (RFC 4787 section 5);
     * address-and-port-dependent, Linux's, unless set. Address-dependent needs the table's permissions on
     * ({@link ConntrackTable#permissions(boolean)}), the others need them off. Set before the worker starts.
     */
    public Pipeline filtering(final EndpointDependence filtering)
    {
        policy.filtering(filtering);
        return this;
    }

    /**
     * What a packet the filtering refuses gets: false (the default) drops it, true answers it with a TCP RST or an
     * ICMP administratively prohibited. Either way it is counted as {@code filtered}. Set before the worker starts.
     */
    public Pipeline rejectFiltered(final boolean reject)
    {
        policy.rejectFiltered(reject);
        return this;
    }

    /** Where connection events go; set before the worker starts. */
    public Pipeline events(final ConntrackEvents events)
    {
        tracking.events(events);
        return this;
    }

    /**
     * With {@code on}, every packet handed to {@link #process} starts with a {@link VirtioNetHeader} (a TUN
     * opened with IFF_VNET_HDR): a GSO super-packet is tracked and translated once, on its headers, and counts
     * as the segments it becomes; a partial checksum ({@link VirtioNetHeader#NEEDS_CSUM}) is updated as
     * Linux updates CHECKSUM_PARTIAL. The header goes out with the packet, all zero on an answer natgw built.
     * Set before the worker starts.
     */
    public Pipeline virtioNetHeaders(final boolean on)
    {
        this.vnetLength = on ? VirtioNetHeader.LENGTH : 0;
        validation.vnetLength(vnetLength);
        fragments.vnetLength(vnetLength);
        return this;
    }

    /** Length of the packet to write after {@link #process} returned FORWARD (an answer may differ in length). */
    public int outputLength()
    {
        return batch.outputLength;
    }

    public WorkerCounters counters()
    {
        return counters;
    }

    /**
     * Fragments released by the last {@link #process} call: held ones whose first fragment came in it, translated,
     * each in a buffer of the fragment table at the offset its packet was processed at (with its virtio-net header,
     * zeroed, if offloads are on). To be written before the next call, which gives their buffers back.
     */
    public int releasedCount()
    {
        return fragments.releasedCount();
    }

    public UnsafeBuffer releasedBuffer(final int i)
    {
        return fragments.releasedBuffer(i);
    }

    /** Length of released fragment {@code i} from the offset, its virtio-net header included. */
    public int releasedLength(final int i)
    {
        return fragments.releasedLength(i);
    }

    /** Ends, now and then, fragment trains past their deadline: a worker with nothing to read calls it too. */
    public void expireFragments(final long nowNs)
    {
        fragments.sweep(table.toTableMs(nowNs));
    }

    public ConntrackTable table()
    {
        return table;
    }

    /** The worker's cursor, for control operations run on the worker's thread. */
    public ConntrackTable.Cursor cursor()
    {
        return cursor;
    }

    /**
     * Processes {@code count} packets, packet {@code i} of {@code lengths[i]} bytes at {@code offset} in
     * {@code buffers[i]}, as {@link #process(MutableDirectBuffer, int, int, long)} processes one; its
     * verdict goes to {@code verdicts[i]}, the length to write to {@code outputLengths[i]}. Up to
     * {@link #LOOKAHEAD} packets at a time are parsed, have their lookups walked ahead, then go through
     * steps 3 to 6 in order.
     */
    public void process(
        final MutableDirectBuffer[] buffers,
        final int offset,
        final int[] lengths,
        final int count,
        final long nowNs,
        final int[] verdicts,
        final int[] outputLengths)
    {
        process(buffers, offset, lengths, count, nowNs, verdicts, outputLengths, null);
    }

    /**
     * As {@link #process(MutableDirectBuffer[], int, int[], int, long, int[], int[])}, and with {@code
     * outputSegments} not null, the packets each forwarded one becomes on the wire in {@code outputSegments[i]}
     * (more than one for a GSO super-packet). With {@link #virtioNetHeaders} on, {@code offset} and the
     * lengths include the header.
     */
    public void process(
        final MutableDirectBuffer[] buffers,
        final int offset,
        final int[] lengths,
        final int count,
        final long nowNs,
        final int[] verdicts,
        final int[] outputLengths,
        final int[] outputSegments)
    {
        final int nowMs = table.toTableMs(nowNs); // one clock reading per batch
        final ServiceTable serviceTable = services.current(); // and one view of the services
        final Batch batch = this.batch;
        fragments.clearReleased();
        final int vnetLength = this.vnetLength;
        final int ipOffset = offset + vnetLength;
        for (int start = 0; start < count; start += LOOKAHEAD)
        {
            final int end = Math.min(count, start + LOOKAHEAD);
            counters.add(ConntrackCounter.RX_PACKETS, end - start);
            for (int i = start, j = 0; i < end; i++, j++)
            {
                verdicts[i] = validation.parse(buffers[i], ipOffset, lengths[i] - vnetLength, j);
            }
            lookup.lookAhead(verdicts, start, end);
            for (int i = start, j = 0; i < end; i++, j++)
            {
                final MutableDirectBuffer buffer = buffers[i];
                int verdict = verdicts[i];
                if (verdict == Verdict.PARSED)
                {
                    verdict = lookup.steady(buffer, ipOffset, nowMs, serviceTable, j);
                }
                if (verdict == Verdict.FORWARD && batch.fragments[j] == 0)
                {
                    // steady, or untracked: nothing to count, no walk restarted (only act's cursor restarts)
                    Rewrite.restoreHop(buffer, ipOffset);
                    verdicts[i] = Verdict.FORWARD;
                    outputLengths[i] = lengths[i];
                    if (outputSegments != null)
                    {
                        outputSegments[i] = Batch.segments(batch.offloads[j]);
                    }
                    continue;
                }
                batch.outputLength = lengths[i] - vnetLength;
                batch.answered = false;
                if (verdict == Verdict.PARSED || verdict == Verdict.PARSED_ICMP_ERROR)
                {
                    verdict = fullPath(buffer, ipOffset, nowMs, serviceTable, verdict, j);
                }
                verdict = fragment(buffer, ipOffset, nowMs, verdict, j);
                verdicts[i] = finish(verdict);
                restoreHopOfForwarded(buffer, ipOffset, verdict);
                outputLengths[i] = batch.outputLength + vnetLength;
                if (outputSegments != null)
                {
                    outputSegments[i] = batch.answered ? 1 : Batch.segments(batch.offloads[j]);
                }
                clearOffloadsOfAnswer(buffer, offset);
            }
            reportFound();
        }
        fragments.sweep(nowMs);
    }

    /**
     * Processes one packet of {@code length} bytes at {@code offset}.
     *
     * @return {@link #FORWARD}, or the id of the {@link DropReason} it was dropped (and counted) for.
     */
    public int process(final MutableDirectBuffer buffer, final int offset, final int length, final long nowNs)
    {
        counters.increment(ConntrackCounter.RX_PACKETS);
        final Batch batch = this.batch;
        final int vnetLength = this.vnetLength;
        final int ipOffset = offset + vnetLength;
        fragments.clearReleased();
        batch.outputLength = length - vnetLength;
        batch.answered = false;
        int verdict = validation.parse(buffer, ipOffset, length - vnetLength, 0);
        final int nowMs = table.toTableMs(nowNs);
        if (verdict == Verdict.PARSED || verdict == Verdict.PARSED_ICMP_ERROR)
        {
            final ServiceTable serviceTable = services.current();
            if (verdict == Verdict.PARSED)
            {
                verdict = lookup.steady(buffer, ipOffset, nowMs, serviceTable, 0);
            }
            if (verdict == Verdict.PARSED || verdict == Verdict.PARSED_ICMP_ERROR)
            {
                verdict = fullPath(buffer, ipOffset, nowMs, serviceTable, verdict, 0);
            }
            reportFound();
        }
        verdict = fragment(buffer, ipOffset, nowMs, verdict, 0);
        restoreHopOfForwarded(buffer, ipOffset, verdict);
        batch.outputLength += vnetLength;
        clearOffloadsOfAnswer(buffer, offset);
        return finish(verdict);
    }

    /** Step 7 for the packet in slot {@code j}, if it is a fragment: a later one's train, or a first one's after its path. */
    private int fragment(final MutableDirectBuffer buffer, final int offset, final int nowMs, final int verdict, final int j)
    {
        if (batch.fragments[j] == 0)
        {
            return verdict;
        }
        if (verdict == Verdict.PARSED_FRAGMENT)
        {
            return fragments.later(buffer, offset, j, nowMs);
        }
        return batch.fragmentOffsets[j] == 0 ? fragments.first(buffer, offset, j, verdict, nowMs) : verdict;
    }

    /** The packets the last packet given to {@link #process(MutableDirectBuffer, int, int, long)} becomes on the wire. */
    public int outputSegments()
    {
        return batch.answered ? 1 : Batch.segments(batch.offloads[0]);
    }

    private void reportFound()
    {
        counters.add(ConntrackCounter.FOUND, batch.found);
        batch.found = 0;
    }

    /** A packet natgw built in the buffer (a RST, an ICMP error) goes out behind an all-zero virtio-net header. */
    private void clearOffloadsOfAnswer(final MutableDirectBuffer buffer, final int offset)
    {
        if (batch.answered && vnetLength != 0)
        {
            vnet.wrap(buffer, offset).clear();
        }
    }

    /** Step 7 for a packet of the full path: not for a drop, nor for an answer natgw built (it starts at its own TTL). */
    private void restoreHopOfForwarded(final MutableDirectBuffer buffer, final int ipOffset, final int verdict)
    {
        if (verdict == Verdict.FORWARD && !batch.answered)
        {
            Rewrite.restoreHop(buffer, ipOffset);
        }
    }

    private int finish(final int verdict)
    {
        if (Verdict.isDrop(verdict))
        {
            counters.drop(Verdict.dropReason(verdict));
        }
        final long restarts = cursor.restarts();
        if (restarts != reportedRestarts)
        {
            counters.add(ConntrackCounter.SEARCH_RESTART, restarts - reportedRestarts);
            reportedRestarts = restarts;
        }
        return verdict;
    }

    /**
     * Steps 3 to 6 by the full path, for what {@link Lookup#steady} does not take: the header flyweights go
     * on the packet validation left in slot {@code j} ({@link Verdict#PARSED} or {@link
     * Verdict#PARSED_ICMP_ERROR}), then {@link #act} or the ICMP error translation.
     */
    private int fullPath(
        final MutableDirectBuffer buffer, final int offset, final int nowMs, final ServiceTable serviceTable, final int parsed, final int j)
    {
        final int l4Offset = offset + Batch.ihl(batch.fields[j]);
        ip.wrap(buffer, offset);
        if (parsed == Verdict.PARSED_ICMP_ERROR)
        {
            icmp.wrap(buffer, l4Offset);
            return icmpErrors.translate(buffer, offset, j);
        }
        switch (FlowTuple.protocol(batch.ports(j)))
        {
            case Ipv4Header.PROTO_TCP: tcp.wrap(buffer, l4Offset); break;
            case Ipv4Header.PROTO_UDP: udp.wrap(buffer, l4Offset); break;
            default: icmp.wrap(buffer, l4Offset); break;
        }
        return act(buffer, offset, nowMs, serviceTable, j);
    }

    /**
     * Steps 3 to 6 for the packet validation left in slot {@code j}; the flyweights are on it. The path of a
     * packet of a known connection stays in this method; a miss goes to {@link Policy#miss}, kept apart so
     * the compiler's inlining budget goes to this path.
     */
    private int act(
        final MutableDirectBuffer buffer, final int offset, final int nowMs, final ServiceTable serviceTable, final int j)
    {
        final Batch batch = this.batch;
        final long addresses = batch.addresses(j);
        final long ports = batch.ports(j);
        final int bucket = batch.buckets[j];
        final int fields = batch.fields[j];
        final int protocol = FlowTuple.protocol(ports);
        final int tcpFlags = Batch.tcpFlags(fields);
        final ConntrackTable table = this.table;
        final ConntrackTable.Cursor cursor = this.cursor;
        final Tracking tracking = this.tracking;

        // 3. lookup; 4. policy on a miss
        for (int attempt = 0; attempt < MAX_LOOKUPS; attempt++)
        {
            final int entry;
            if (table.lookup(cursor, addresses, ports, bucket) && isConfirmed(cursor.status()))
            {
                batch.found++;
                entry = cursor.entry();
                if (Tracking.reopens(protocol, tcpFlags, cursor.dir(), cursor.status()))
                {
                    policy.reopening(entry, addresses, ports);
                    tracking.reopen(entry);
                    continue;
                }
            }
            else
            {
                final int entryOrDone = policy.miss(buffer, offset, addresses, ports, fields, serviceTable, nowMs);
                if (!Verdict.isEntry(entryOrDone))
                {
                    return Verdict.verdictOf(entryOrDone);
                }
                entry = entryOrDone;
            }

            // 5. track, then 6. rewrite towards the inverse of the other direction's tuple
            final int dir = cursor.dir();
            final int status = cursor.status();
            final long otherAddresses = table.tupleAddresses(entry, dir ^ 1);
            final long otherPorts = table.tuplePorts(entry, dir ^ 1);
            final int backend = tracking.backendOf(entry, status);
            if (!table.stillValid(cursor))
            {
                continue;
            }
            final int totalLength = Batch.totalLength(fields);
            if (backend >= 0 && serviceTable.isRemoved(backend))
            {
                return policy.endRemovedBackendFlow(buffer, offset, entry, dir, protocol, Batch.ihl(fields), totalLength);
            }
            final int offloads = batch.offloads[j];
            tracking.track(entry, dir, status, protocol, tcpFlags, Batch.segments(offloads), batch.wireBytes[j], nowMs, backend);
            if (protocol == Ipv4Header.PROTO_TCP)
            {
                tracking.trackSequence(entry, dir, status, tcpFlags, tcp, totalLength - Batch.ihl(fields));
            }
            Rewrite.rewrite(buffer, offset, Batch.ihl(fields), protocol, Batch.partialChecksum(offloads),
                addresses, ports, otherAddresses, otherPorts, icmp);
            return Verdict.FORWARD;
        }
        return Verdict.drop(DropReason.INSERT_FAILED);
    }
}
