package natgw.core.pipeline;

import java.nio.ByteOrder;

import org.agrona.MutableDirectBuffer;

import natgw.core.conntrack.ConntrackCounter;
import natgw.core.conntrack.ConntrackEvents;
import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.StatusDescriptor;
import natgw.core.conntrack.TcpState;
import natgw.core.conntrack.Timeouts;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.core.nat.AffinityTable;
import natgw.core.nat.Backend;
import natgw.core.nat.BackendCounters;
import natgw.core.nat.NatAllocator;
import natgw.core.nat.Service;
import natgw.core.nat.ServiceTable;
import natgw.core.nat.Services;
import natgw.core.nat.SnatPolicy;
import natgw.core.packet.Checksum;
import natgw.core.packet.DropReason;
import natgw.core.packet.IcmpHeader;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.PacketMemory;
import natgw.core.packet.TcpHeader;
import natgw.core.packet.UdpHeader;
import natgw.core.packet.VirtioNetHeader;

import static natgw.core.conntrack.ConntrackTable.ORIGINAL;
import static natgw.core.conntrack.ConntrackTable.REPLY;

/**
 * One worker's packet path, pure: a buffer in, a verdict out, the packet rewritten in place.
 * <pre>
 * Packet flow:
 *   1. validate IPv4, then TCP/UDP/ICMP (each failure is one counted {@link DropReason})
 *   2. flow key: the packet's tuple (FlowTuple)
 *   3. conntrack lookup: either direction, one operation
 *   4. on a miss, policy: DNAT to a scheduled backend for a service VIP:port (plus SNAT when the
 *      client is inside or is the backend itself: hairpin), SNAT for inside sources (NatAllocator
 *      creates the connection), drop for unsolicited packets to the pool, forward anything else
 *      unchanged; a flow whose backend was removed is ended with a TCP RST or ICMP unreachable
 *   5. track: TCP state, timeout, SEEN_REPLY/ASSURED, counters
 *   6. rewrite: the target tuple is the inverse of the other direction's tuple (nf_nat_manip_pkt),
 *      checksums updated incrementally (RFC 1624); ICMP errors: outer and embedded headers
 * </pre>
 * Most packets change nothing but counters and the deadline: a TCP or UDP packet of a confirmed
 * connection that leaves its status as it found it. {@link #steady} does 3, 5 and 6 for those with
 * nothing the others need (no cursor, no flyweight, no policy); whatever it declines, it declines before
 * any change, and the full path takes it.
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
    public static final int FORWARD = -1;

    private static final int MAX_LOOKUPS = 4;
    private static final int NO_BACKEND_TO_REJECT = Integer.MIN_VALUE;
    private static final int DEADLINE_SLACK_MS = 1000;
    /**
     * A replied UDP flow becomes a stream (ASSURED, the replied timeout) with a packet after it is this old; before,
     * it keeps the unreplied timeout, so one request and its answer leave the table as soon as Linux 6.x lets them.
     */
    static final int UDP_STREAM_MS = 2000;
    /** Packets whose lookups are walked ahead together: enough to keep the core's miss buffers busy. */
    public static final int LOOKAHEAD = 64;
    /** {@link #parse}: steps 3 to 6 follow. */
    private static final int PARSED = -2;
    /** {@link #parse}: an ICMP error, translated by its embedded packet's connection. */
    private static final int PARSED_ICMP_ERROR = -3;
    /** Nodes of each chain the look-ahead loads (see {@link #lookAhead}). */
    private static final int NODES_AHEAD = 3;
    /** In {@link #offloads}: the L4 checksum field holds a partial sum (virtio NEEDS_CSUM), below it the segments. */
    private static final int PARTIAL_CSUM = 1 << 16;
    private static final int SEGMENTS_MASK = PARTIAL_CSUM - 1;
    /** {@link #virtioNetHeader}: the header contradicts the packet. */
    private static final int VNET_BAD = -1;
    /** {@link #virtioNetHeader}: no L4 checksum to verify (the kernel did, or the device will complete it). */
    private static final int VNET_VERIFIED = 1 << 17;
    private static final int VNET_GSO_KIND_SHIFT = 24;
    private static final int VNET_GSO_SIZE_MASK = 0xFFFF;

    private final Ipv4Header ip = new Ipv4Header();
    private final Ipv4Header innerIp = new Ipv4Header();
    private final TcpHeader tcp = new TcpHeader();
    private final UdpHeader udp = new UdpHeader();
    private final IcmpHeader icmp = new IcmpHeader();
    private final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
    // packet j of a batch between parse and act: its flow key, bucket and header fields
    private final long[] keys = new long[2 * LOOKAHEAD];
    private final int[] buckets = new int[LOOKAHEAD];
    private final int[] fields = new int[LOOKAHEAD];
    // and its offloads: the segments it stands for, PARTIAL_CSUM; the bytes of those segments
    private final int[] offloads = new int[LOOKAHEAD];
    private final int[] wireBytes = new int[LOOKAHEAD];
    private final VirtioNetHeader vnet = new VirtioNetHeader();
    // the look-ahead's walk: the node packet j's lookup is at
    private final int[] ahead = new int[LOOKAHEAD];
    /** Where the look-ahead's loads end up, so the compiler keeps them. */
    long lookAheadSink;

    private final ConntrackTable table;
    private final NatAllocator allocator;
    private final SnatPolicy snat;
    private final Timeouts timeouts;
    private final WorkerCounters counters;
    private final boolean verifyL4Checksums;
    private final Services services;
    private final BackendCounters backendCounters;
    private final AffinityTable affinity;
    private final boolean resetRemovedBackendFlows;
    private ConntrackEvents events = ConntrackEvents.NONE;
    /** Bytes of virtio-net header before each packet: 0, or {@link VirtioNetHeader#LENGTH} with offloads. */
    private int vnetLength;
    /** Set when the packet in hand was answered in its buffer (a packet of natgw's own: no offloads). */
    private boolean answered;
    private long reportedRestarts;
    private int outputLength;
    private int random = 0x2545F491;
    /** Connections found since the counter was last told: added to FOUND once per batch, not per packet. */
    private int found;

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
        this.services = services;
        this.backendCounters = backendCounters;
        this.affinity = affinity;
        this.resetRemovedBackendFlows = resetRemovedBackendFlows;
        this.table = table;
        this.allocator = allocator;
        this.snat = snat;
        this.timeouts = timeouts;
        this.counters = counters;
        this.verifyL4Checksums = verifyL4Checksums;
    }

    /** Where connection events go; set before the worker starts. */
    public Pipeline events(final ConntrackEvents events)
    {
        this.events = events;
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
        return this;
    }

    /** Length of the packet to write after {@link #process} returned FORWARD (an answer may differ in length). */
    public int outputLength()
    {
        return outputLength;
    }

    public WorkerCounters counters()
    {
        return counters;
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
        final int vnetLength = this.vnetLength;
        final int ipOffset = offset + vnetLength;
        for (int start = 0; start < count; start += LOOKAHEAD)
        {
            final int end = Math.min(count, start + LOOKAHEAD);
            counters.add(ConntrackCounter.RX_PACKETS, end - start);
            for (int i = start, j = 0; i < end; i++, j++)
            {
                verdicts[i] = parse(buffers[i], ipOffset, lengths[i] - vnetLength, j);
            }
            lookAhead(verdicts, start, end);
            for (int i = start, j = 0; i < end; i++, j++)
            {
                final MutableDirectBuffer buffer = buffers[i];
                int verdict = verdicts[i];
                if (verdict == PARSED)
                {
                    verdict = steady(buffer, ipOffset, nowMs, serviceTable, j);
                }
                if (verdict == FORWARD)
                {
                    // steady, or untracked: nothing to count, no walk restarted (only act's cursor restarts)
                    verdicts[i] = FORWARD;
                    outputLengths[i] = lengths[i];
                    if (outputSegments != null)
                    {
                        outputSegments[i] = offloads[j] & SEGMENTS_MASK;
                    }
                    continue;
                }
                outputLength = lengths[i] - vnetLength;
                answered = false;
                if (verdict == PARSED || verdict == PARSED_ICMP_ERROR)
                {
                    verdict = fullPath(buffer, ipOffset, nowMs, serviceTable, verdict, j);
                }
                verdicts[i] = finish(verdict);
                outputLengths[i] = outputLength + vnetLength;
                if (outputSegments != null)
                {
                    outputSegments[i] = answered ? 1 : offloads[j] & SEGMENTS_MASK;
                }
                clearOffloadsOfAnswer(buffer, offset);
            }
            reportFound();
        }
    }

    private void reportFound()
    {
        counters.add(ConntrackCounter.FOUND, found);
        found = 0;
    }

    /**
     * Loads the table lines the lookups of the parsed packets {@code start..end-1} will touch, in six
     * passes over the batch: their buckets, the first nodes' lines, then twice a comparison that names each
     * chain's next node where this one does not hold the tuple, and those lines. No load of a pass feeds a
     * branch or an address in the same pass, and a pass is a few instructions a packet, so the core keeps
     * as many misses in flight as its reorder window holds iterations. Three nodes ({@link #NODES_AHEAD}):
     * a hit visits 1.36 on average, but about 6% are third or later in their chain, and a line the
     * look-ahead left out is a miss the walk waits on alone. A hint only: the lookups proper follow. Other
     * slots walk bucket 0, which is harmless.
     */
    private void lookAhead(final int[] verdicts, final int start, final int end)
    {
        final ConntrackTable table = this.table;
        final int[] ahead = this.ahead;
        final int[] buckets = this.buckets;
        final long[] keys = this.keys;
        final int count = end - start;
        for (int j = 0; j < count; j++)
        {
            ahead[j] = table.prefetch(verdicts[start + j] == PARSED ? buckets[j] : 0);
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
     * Processes one packet of {@code length} bytes at {@code offset}.
     *
     * @return {@link #FORWARD}, or the id of the {@link DropReason} it was dropped (and counted) for.
     */
    public int process(final MutableDirectBuffer buffer, final int offset, final int length, final long nowNs)
    {
        counters.increment(ConntrackCounter.RX_PACKETS);
        final int vnetLength = this.vnetLength;
        final int ipOffset = offset + vnetLength;
        outputLength = length - vnetLength;
        answered = false;
        int verdict = parse(buffer, ipOffset, length - vnetLength, 0);
        if (verdict == PARSED || verdict == PARSED_ICMP_ERROR)
        {
            final int nowMs = table.toTableMs(nowNs);
            final ServiceTable serviceTable = services.current();
            if (verdict == PARSED)
            {
                verdict = steady(buffer, ipOffset, nowMs, serviceTable, 0);
            }
            if (verdict == PARSED || verdict == PARSED_ICMP_ERROR)
            {
                verdict = fullPath(buffer, ipOffset, nowMs, serviceTable, verdict, 0);
            }
            reportFound();
        }
        outputLength += vnetLength;
        clearOffloadsOfAnswer(buffer, offset);
        return finish(verdict);
    }

    /** A packet natgw built in the buffer (a RST, an ICMP error) goes out behind an all-zero virtio-net header. */
    private void clearOffloadsOfAnswer(final MutableDirectBuffer buffer, final int offset)
    {
        if (answered && vnetLength != 0)
        {
            vnet.wrap(buffer, offset).clear();
        }
    }

    /** The packets the last packet given to {@link #process(MutableDirectBuffer, int, int, long)} becomes on the wire. */
    public int outputSegments()
    {
        return answered ? 1 : offloads[0] & SEGMENTS_MASK;
    }

    /**
     * Steps 3 to 6 by the full path, for what {@link #steady} does not take: the header flyweights go on the
     * packet {@link #parse} left in slot {@code j} ({@link #PARSED} or {@link #PARSED_ICMP_ERROR}), then
     * {@link #act} or {@link #icmpError}.
     */
    private int fullPath(
        final MutableDirectBuffer buffer, final int offset, final int nowMs, final ServiceTable serviceTable, final int parsed, final int j)
    {
        final int l4Offset = offset + ihl(fields[j]);
        ip.wrap(buffer, offset);
        if (parsed == PARSED_ICMP_ERROR)
        {
            icmp.wrap(buffer, l4Offset);
            return icmpError(buffer, offset, j);
        }
        switch (FlowTuple.protocol(keys[2 * j + 1]))
        {
            case Ipv4Header.PROTO_TCP: tcp.wrap(buffer, l4Offset); break;
            case Ipv4Header.PROTO_UDP: udp.wrap(buffer, l4Offset); break;
            default: icmp.wrap(buffer, l4Offset); break;
        }
        return act(buffer, offset, nowMs, serviceTable, j);
    }

    private int finish(final int verdict)
    {
        if (verdict != FORWARD)
        {
            counters.drop(DropReason.get(verdict));
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
     * Steps 1 and 2: validates the packet and leaves its flow key, bucket and the header fields the later
     * steps need in slot {@code j} of {@link #keys}, {@link #buckets} and {@link #fields}.
     *
     * @return {@link #PARSED}, {@link #PARSED_ICMP_ERROR}, or a final verdict (a drop, or FORWARD untracked).
     */
    private int parse(final MutableDirectBuffer buffer, final int offset, final int length, final int j)
    {
        offloads[j] = 1;
        // 1. IPv4: the fixed header in three loads, its fields and its checksum taken from the same words
        if (length < Ipv4Header.MIN_LENGTH)
        {
            return DropReason.TRUNCATED.id();
        }
        buffer.boundsCheck(offset, length); // the one check of the packet's region: the rewrite writes at its memory
        final long ip0 = buffer.getLong(offset, ByteOrder.BIG_ENDIAN);     // version, IHL, TOS, total length, id, flags
        final long ip1 = buffer.getLong(offset + 8, ByteOrder.BIG_ENDIAN); // TTL, protocol, checksum, source
        final int dst = buffer.getInt(offset + 16, ByteOrder.BIG_ENDIAN);
        if (ip0 >>> 60 != 4)
        {
            return DropReason.BAD_VERSION.id();
        }
        final int ihl = (int)(ip0 >>> 56 & 0xF) << 2;
        if (ihl < Ipv4Header.MIN_LENGTH || ihl > length)
        {
            return DropReason.BAD_HEADER_LENGTH.id();
        }
        final int totalLength = (int)(ip0 >>> 32 & 0xFFFF);
        if (totalLength < ihl || totalLength > length)
        {
            return DropReason.BAD_TOTAL_LENGTH.id();
        }
        final long ipSum = sumRest(buffer, offset, Ipv4Header.MIN_LENGTH, ihl, sum32(ip0) + sum32(ip1) + (dst & 0xFFFF_FFFFL));
        if (Checksum.finish(ipSum) != 0)
        {
            return DropReason.BAD_HEADER_CHECKSUM.id();
        }
        if (ip1 >>> 56 == 0)
        {
            return DropReason.TTL_EXPIRED.id();
        }
        if ((ip0 & (Ipv4Header.FLAG_MF | Ipv4Header.FRAGMENT_OFFSET_MASK)) != 0)
        {
            return DropReason.FRAGMENT.id();
        }

        final int protocol = (int)(ip1 >>> 48 & 0xFF);
        int vnetState = 0;
        if (vnetLength != 0)
        {
            vnetState = virtioNetHeader(buffer, offset, length, totalLength, ihl, protocol);
            if (vnetState == VNET_BAD)
            {
                return DropReason.BAD_VNET_HEADER.id();
            }
        }
        final boolean verifyL4 = verifyL4Checksums && (vnetState & (PARTIAL_CSUM | VNET_VERIFIED)) == 0;

        // 2. transport and flow key
        final int src = (int)ip1;
        final int l4Offset = offset + ihl;
        final int l4Length = totalLength - ihl;
        final int srcPort;
        final int dstPort;
        int tcpFlags = 0;
        int l4HeaderLength = 0;
        int payloadLength = 0;
        switch (protocol)
        {
            case Ipv4Header.PROTO_TCP:
            {
                if (l4Length < TcpHeader.MIN_LENGTH)
                {
                    return DropReason.BAD_L4_LENGTH.id();
                }
                final long tcp0 = buffer.getLong(l4Offset, ByteOrder.BIG_ENDIAN);     // ports, sequence number
                final long tcp1 = buffer.getLong(l4Offset + 8, ByteOrder.BIG_ENDIAN); // ack, data offset, flags, window
                final int hl = (int)(tcp1 >>> 28 & 0xF) << 2;
                if (hl < TcpHeader.MIN_LENGTH || hl > l4Length)
                {
                    return DropReason.BAD_L4_LENGTH.id();
                }
                if (verifyL4)
                {
                    final long headerSum = Checksum.pseudoHeaderSum(src, dst, Ipv4Header.PROTO_TCP, l4Length) +
                        sum32(tcp0) + sum32(tcp1) + (buffer.getInt(l4Offset + 16, ByteOrder.BIG_ENDIAN) & 0xFFFF_FFFFL);
                    if (Checksum.finish(sumRest(buffer, l4Offset, TcpHeader.MIN_LENGTH, l4Length, headerSum)) != 0)
                    {
                        return DropReason.BAD_L4_CHECKSUM.id();
                    }
                }
                srcPort = (int)(tcp0 >>> 48);
                dstPort = (int)(tcp0 >>> 32 & 0xFFFF);
                tcpFlags = (int)(tcp1 >>> 16 & 0xFF);
                l4HeaderLength = hl;
                payloadLength = l4Length - hl;
                break;
            }
            case Ipv4Header.PROTO_UDP:
            {
                if (l4Length < UdpHeader.LENGTH)
                {
                    return DropReason.BAD_L4_LENGTH.id();
                }
                final long udp0 = buffer.getLong(l4Offset, ByteOrder.BIG_ENDIAN); // ports, length, checksum
                final int udpLength = (int)(udp0 >>> 16 & 0xFFFF);
                if (udpLength < UdpHeader.LENGTH || udpLength > l4Length)
                {
                    return DropReason.BAD_L4_LENGTH.id();
                }
                // a zero checksum means the sender computed none (RFC 768)
                if (verifyL4 && (udp0 & 0xFFFF) != 0)
                {
                    final long headerSum = Checksum.pseudoHeaderSum(src, dst, Ipv4Header.PROTO_UDP, udpLength) + sum32(udp0);
                    if (Checksum.finish(sumRest(buffer, l4Offset, UdpHeader.LENGTH, udpLength, headerSum)) != 0)
                    {
                        return DropReason.BAD_L4_CHECKSUM.id();
                    }
                }
                srcPort = (int)(udp0 >>> 48);
                dstPort = (int)(udp0 >>> 32 & 0xFFFF);
                l4HeaderLength = UdpHeader.LENGTH;
                payloadLength = udpLength - UdpHeader.LENGTH;
                break;
            }
            case Ipv4Header.PROTO_ICMP:
            {
                if (l4Length < IcmpHeader.HEADER_LENGTH)
                {
                    return DropReason.BAD_L4_LENGTH.id();
                }
                final IcmpHeader icmp = this.icmp.wrap(buffer, l4Offset);
                if (verifyL4 && !icmp.isChecksumValid(l4Length))
                {
                    return DropReason.BAD_L4_CHECKSUM.id();
                }
                final int type = icmp.type();
                if (type == IcmpHeader.ECHO_REQUEST)
                {
                    srcPort = icmp.identifier();
                    dstPort = 0;
                }
                else if (type == IcmpHeader.ECHO_REPLY)
                {
                    srcPort = 0;
                    dstPort = icmp.identifier();
                }
                else if (icmp.isError())
                {
                    keys[2 * j] = FlowTuple.packAddresses(src, dst);
                    keys[2 * j + 1] = 0;
                    fields[j] = packFields(0, ihl, totalLength);
                    return PARSED_ICMP_ERROR;
                }
                else
                {
                    return needsTranslation(src, dst) ? DropReason.UNSUPPORTED_ICMP.id() : untracked();
                }
                break;
            }
            default:
                return needsTranslation(src, dst) ? DropReason.UNSUPPORTED_PROTOCOL.id() : untracked();
        }

        final long a = FlowTuple.packAddresses(src, dst);
        final long b = FlowTuple.packPorts(protocol, srcPort, dstPort);
        keys[2 * j] = a;
        keys[2 * j + 1] = b;
        buckets[j] = table.bucket(a, b);
        fields[j] = packFields(tcpFlags, ihl, totalLength);
        int segments = 1;
        if (vnetState >>> VNET_GSO_KIND_SHIFT != VirtioNetHeader.GSO_NONE)
        {
            segments = VirtioNetHeader.segments(payloadLength, vnetState & VNET_GSO_SIZE_MASK);
            counters.add(ConntrackCounter.RX_PACKETS, segments - 1);
        }
        offloads[j] = segments | (vnetState & PARTIAL_CSUM);
        wireBytes[j] = totalLength + (segments - 1) * (ihl + l4HeaderLength);
        return PARSED;
    }

    /**
     * Step 1 with offloads on: checks the virtio-net header in front of the IP header at {@code offset}
     * against the packet (as the kernel's virtio_net_hdr_to_skb would on the way back), and finishes in
     * software a partial checksum that is not a TCP or UDP checksum in its usual place (what the kernel's
     * skb_checksum_help does for a device without the offload).
     *
     * @return the packet's offload state, {@code gso kind << 24 | PARTIAL_CSUM | VNET_VERIFIED | gso_size},
     * or {@link #VNET_BAD}.
     */
    private int virtioNetHeader(
        final MutableDirectBuffer buffer, final int offset, final int length, final int totalLength, final int ihl, final int protocol)
    {
        final VirtioNetHeader vnet = this.vnet.wrap(buffer, offset - VirtioNetHeader.LENGTH);
        final int flags = vnet.flags();
        final int gsoType = vnet.gsoType();
        final int gsoKind = VirtioNetHeader.gsoKind(gsoType);
        if ((flags & ~(VirtioNetHeader.NEEDS_CSUM | VirtioNetHeader.DATA_VALID)) != 0 || vnet.hdrLen() > length)
        {
            return VNET_BAD;
        }
        int state = 0;
        if (gsoKind != VirtioNetHeader.GSO_NONE)
        {
            final boolean matches = gsoKind == VirtioNetHeader.GSO_TCPV4 ? protocol == Ipv4Header.PROTO_TCP :
                gsoKind == VirtioNetHeader.GSO_UDP_L4 && gsoType == gsoKind && protocol == Ipv4Header.PROTO_UDP;
            final int gsoSize = vnet.gsoSize();
            if (!matches || gsoSize == 0 || (flags & VirtioNetHeader.NEEDS_CSUM) == 0)
            {
                return VNET_BAD; // the kernel hands over GSO only with the checksum left to finish
            }
            state = gsoKind << VNET_GSO_KIND_SHIFT | gsoSize;
        }
        if ((flags & VirtioNetHeader.NEEDS_CSUM) != 0)
        {
            final int csumStart = vnet.csumStart();
            final int field = csumStart + vnet.csumOffset();
            if (field + 2 > totalLength)
            {
                return VNET_BAD;
            }
            final int l4ChecksumOffset = protocol == Ipv4Header.PROTO_TCP ? TcpHeader.CHECKSUM_OFFSET :
                protocol == Ipv4Header.PROTO_UDP ? UdpHeader.CHECKSUM_OFFSET : -1;
            if (csumStart == ihl && field - csumStart == l4ChecksumOffset)
            {
                return state | PARTIAL_CSUM;
            }
            if (gsoKind != VirtioNetHeader.GSO_NONE || csumStart < ihl)
            {
                return VNET_BAD;
            }
            // the field holds the seed (a pseudo header's sum, or 0): it is part of the sum
            final int sum = Checksum.finish(Checksum.sum(buffer, offset + csumStart, totalLength - csumStart, 0));
            buffer.putShort(offset + field, (short)(sum == 0 && protocol == Ipv4Header.PROTO_UDP ? 0xFFFF : sum), ByteOrder.BIG_ENDIAN);
            vnet.flags(flags & ~VirtioNetHeader.NEEDS_CSUM);
            return state | VNET_VERIFIED;
        }
        return (flags & VirtioNetHeader.DATA_VALID) != 0 ? state | VNET_VERIFIED : state;
    }

    /** The one's complement sum of a big-endian word's two 32-bit halves, unfolded (RFC 1071: any word size folds alike). */
    private static long sum32(final long word)
    {
        return (word >>> 32) + (word & 0xFFFF_FFFFL);
    }

    /**
     * {@code headerSum}, the sum of the region's first {@code summed} bytes, plus the rest of its {@code length}
     * bytes at {@code offset}: options or payload, none in most headers.
     */
    private static long sumRest(
        final MutableDirectBuffer buffer, final int offset, final int summed, final int length, final long headerSum)
    {
        return length == summed ? headerSum : Checksum.sum(buffer, offset + summed, length - summed, headerSum);
    }

    /** The header fields steps 3 to 6 need, in one int: total length, IP header length, TCP flags. */
    private static int packFields(final int tcpFlags, final int ihl, final int totalLength)
    {
        return totalLength << 16 | ihl << 8 | tcpFlags;
    }

    private static int tcpFlags(final int fields)
    {
        return fields & 0xFF;
    }

    private static int ihl(final int fields)
    {
        return fields >>> 8 & 0xFF;
    }

    private static int totalLength(final int fields)
    {
        return fields >>> 16;
    }

    /**
     * Steps 3, 5 and 6 for the packet most traffic is, the one {@link #parse} left in slot {@code j}: TCP
     * or UDP of a confirmed connection that the packet leaves in the status it found (its TCP state, the
     * reply and assured flags already as the packet would set them), not a SYN, and not bound for a removed
     * backend. It looks up with {@link ConntrackTable#findLinked}, counts, moves the deadline and rewrites,
     * with no flyweight. Any other packet, or a lookup that met a concurrent change, it leaves as it found
     * it and returns {@link #PARSED}: {@link #act} takes the packet from the start.
     */
    private int steady(
        final MutableDirectBuffer buffer, final int offset, final int nowMs, final ServiceTable serviceTable, final int j)
    {
        final long a = keys[2 * j];
        final long b = keys[2 * j + 1];
        final int fields = this.fields[j];
        final int protocol = FlowTuple.protocol(b);
        final int tcpFlags = tcpFlags(fields);
        if (protocol == Ipv4Header.PROTO_ICMP || (tcpFlags & (TcpHeader.SYN | TcpHeader.ACK | TcpHeader.RST)) == TcpHeader.SYN)
        {
            return PARSED;
        }
        final ConntrackTable table = this.table;
        final long hit = table.findLinked(a, b, buckets[j]);
        if (hit == ConntrackTable.NOT_FOUND)
        {
            return PARSED;
        }
        final int entry = ConntrackTable.foundEntry(hit);
        final int dir = ConntrackTable.foundDir(hit);
        final int status = ConntrackTable.foundStatus(hit);
        if (StatusDescriptor.phase(status) != StatusDescriptor.PHASE_CONFIRMED ||
            !leavesAsFound(dir, protocol, tcpFlags, status, udpStream(entry, protocol, status, nowMs)))
        {
            return PARSED;
        }
        final long otherAddresses = table.tupleAddresses(entry, dir ^ 1);
        final long otherPorts = table.tuplePorts(entry, dir ^ 1);
        final int backend = backendOf(entry, status);
        if (!table.sameIncarnation(entry, status) || backend >= 0 && serviceTable.isRemoved(backend))
        {
            return PARSED;
        }
        found++;
        final int offloads = this.offloads[j];
        table.account(entry, dir, offloads & SEGMENTS_MASK, wireBytes[j]);
        refreshDeadline(entry, protocol, status, nowMs);
        rewrite(buffer, offset, ihl(fields), protocol, (offloads & PARTIAL_CSUM) != 0, a, b, otherAddresses, otherPorts);
        return FORWARD;
    }

    /**
     * True if a TCP or UDP packet in {@code dir} with {@code tcpFlags} leaves {@code status} as it is: by
     * {@link #statusAfter}'s rules, and as a valid segment (an invalid one keeps the state too, but is
     * counted by the full path).
     */
    private boolean leavesAsFound(final int dir, final int protocol, final int tcpFlags, final int status, final boolean udpStream)
    {
        return statusAfter(dir, protocol, tcpFlags, status, false, udpStream) == status &&
            (protocol != Ipv4Header.PROTO_TCP || TcpState.next(dir, tcpFlags, StatusDescriptor.tcpState(status)) != TcpState.INVALID);
    }

    /**
     * Steps 3 to 6 for the packet {@link #parse} left in slot {@code j}; the flyweights are on it. The
     * path of a packet of a known connection stays in this method; a miss goes to {@link #miss}, kept
     * apart so the compiler's inlining budget goes to this path.
     */
    private int act(
        final MutableDirectBuffer buffer, final int offset, final int nowMs, final ServiceTable serviceTable, final int j)
    {
        final long a = keys[2 * j];
        final long b = keys[2 * j + 1];
        final int bucket = buckets[j];
        final int fields = this.fields[j];
        final int protocol = FlowTuple.protocol(b);
        final int tcpFlags = tcpFlags(fields);
        final ConntrackTable table = this.table;
        final ConntrackTable.Cursor cursor = this.cursor;

        // 3. lookup; 4. policy on a miss
        for (int attempt = 0; attempt < MAX_LOOKUPS; attempt++)
        {
            final int entry;
            if (table.lookup(cursor, a, b, bucket) && StatusDescriptor.phase(cursor.status()) == StatusDescriptor.PHASE_CONFIRMED)
            {
                found++;
                entry = cursor.entry();
                if ((tcpFlags & (TcpHeader.SYN | TcpHeader.ACK | TcpHeader.RST)) == TcpHeader.SYN &&
                    protocol == Ipv4Header.PROTO_TCP && cursor.dir() == ORIGINAL &&
                    TcpState.isReopenable(StatusDescriptor.tcpState(cursor.status())))
                {
                    reopen(entry);
                    continue;
                }
            }
            else
            {
                entry = miss(buffer, offset, a, b, fields, serviceTable, nowMs);
                if (entry < 0)
                {
                    return -entry - 2;
                }
            }

            // 5. track, then 6. rewrite towards the inverse of the other direction's tuple
            final int dir = cursor.dir();
            final int status = cursor.status();
            final long otherAddresses = table.tupleAddresses(entry, dir ^ 1);
            final long otherPorts = table.tuplePorts(entry, dir ^ 1);
            final int backend = backendOf(entry, status);
            if (!table.stillValid(cursor))
            {
                continue;
            }
            final int totalLength = totalLength(fields);
            if (backend >= 0 && serviceTable.isRemoved(backend))
            {
                return endRemovedBackendFlow(buffer, offset, entry, dir, protocol, ihl(fields), totalLength);
            }
            final int offloads = this.offloads[j];
            track(entry, dir, status, protocol, tcpFlags, offloads & SEGMENTS_MASK, wireBytes[j], nowMs, backend);
            rewrite(buffer, offset, ihl(fields), protocol, (offloads & PARTIAL_CSUM) != 0, a, b, otherAddresses, otherPorts);
            return FORWARD;
        }
        return DropReason.INSERT_FAILED.id();
    }

    /** A SYN reusing the tuple of a closed connection starts a new one (nf_conntrack_proto_tcp). */
    private void reopen(final int entry)
    {
        if (table.kill(cursor, entry, cursor.status()))
        {
            counters.increment(ConntrackCounter.REOPENED);
        }
    }

    /**
     * Step 4 for a packet that found no confirmed connection: DNAT to a service's backend, SNAT for an
     * inside source, or a verdict. Returns the connection's entry (the cursor on it), or -(verdict + 2)
     * for a packet that is done (dropped, forwarded untracked, or answered in its buffer).
     */
    private int miss(
        final MutableDirectBuffer buffer,
        final int offset,
        final long a,
        final long b,
        final int fields,
        final ServiceTable serviceTable,
        final int nowMs)
    {
        final int src = FlowTuple.srcAddress(a);
        final int dst = FlowTuple.dstAddress(a);
        final int protocol = FlowTuple.protocol(b);
        final int dstPort = FlowTuple.dstPort(b);
        final int tcpFlags = tcpFlags(fields);
        final Service service = serviceTable.isEmpty() ? null : serviceTable.find(protocol, dst, dstPort);
        if (service == null && serviceTable.isVip(dst))
        {
            return done(DropReason.NO_BACKEND.id());
        }
        if (snat.isPoolAddress(dst))
        {
            return done(DropReason.NO_MAPPING.id());
        }
        if (service == null && (!snat.isInside(src) || snat.isPoolAddress(src)))
        {
            return done(untracked());
        }
        int initialState = 0;
        if (protocol == Ipv4Header.PROTO_TCP)
        {
            initialState = TcpState.next(ORIGINAL, tcpFlags, TcpState.NONE);
            if (initialState >= TcpState.INVALID)
            {
                return done(DropReason.TCP_INVALID_NEW.id());
            }
        }
        else if (protocol == Ipv4Header.PROTO_ICMP && icmp.type() == IcmpHeader.ECHO_REPLY)
        {
            // only a request starts a query (nf_conntrack_proto_icmp valid_new): a reply has no mapping to use
            return done(DropReason.UNSUPPORTED_ICMP.id());
        }
        final int entry;
        if (service != null)
        {
            entry = connectToService(service, a, b, src, protocol, initialState, nowMs);
            if (entry == NO_BACKEND_TO_REJECT)
            {
                // like kube-proxy's REJECT for a service without endpoints: fail fast, never hang
                counters.increment(ConntrackCounter.REJECTED);
                final int ihl = ihl(fields);
                final int totalLength = totalLength(fields);
                answered = true;
                outputLength = protocol == Ipv4Header.PROTO_TCP ?
                    Answers.tcpReset(buffer, offset, ihl, totalLength, ip, this.tcp) :
                    Answers.icmpUnreachable(buffer, offset, ihl, totalLength, IcmpHeader.CODE_PORT_UNREACHABLE, ip, icmp);
                return done(FORWARD);
            }
            if (entry < 0)
            {
                return done(-entry - 1);
            }
        }
        else
        {
            entry = allocator.connect(
                cursor, a, b, snat.addressFor(src, dst), dst, dstPort, snat.portLow(), snat.portHigh(),
                StatusDescriptor.SRC_NAT | initialState << StatusDescriptor.TCP_STATE_SHIFT, 0,
                nowMs + initialTimeoutMs(protocol, initialState));
            if (entry < 0)
            {
                return done(allocator.dropReason().id());
            }
        }
        if (allocator.created())
        {
            events.onEvent(ConntrackEvents.NEW, table, entry, cursor.status());
        }
        return entry;
    }

    /** {@link #miss}'s return for a packet that is done with {@code verdict}. */
    private static int done(final int verdict)
    {
        return -(verdict + 2);
    }

    /**
     * DNAT: schedule a backend (or keep the client's affine one) and create the connection, with source
     * NAT too when the client is inside or is the chosen backend itself (hairpin: else the backend would
     * answer itself directly). Returns the entry, or -(drop reason id + 1).
     */
    private int connectToService(
        final Service service, final long a, final long b, final int src, final int protocol, final int tcpState, final int nowMs)
    {
        final Backend[] backends = service.backends();
        int index = -1;
        if (service.affinitySeconds() > 0)
        {
            final int id = affinity.lookup(service.id(), src, nowMs);
            for (int i = 0; id >= 0 && i < backends.length; i++)
            {
                if (backends[i].id() == id && backends[i].weight() > 0)
                {
                    index = i;
                }
            }
        }
        if (index < 0)
        {
            random ^= random << 13;
            random ^= random >>> 17;
            random ^= random << 5;
            index = service.schedule(src, random & 0x7FFF_FFFF, backendCounters);
            if (index < 0)
            {
                return NO_BACKEND_TO_REJECT;
            }
        }
        final Backend backend = backends[index];
        if (service.affinitySeconds() > 0)
        {
            affinity.remember(service.id(), src, backend.id(), nowMs + service.affinitySeconds() * 1000);
        }
        final boolean masquerade = (snat.isInside(src) && !snat.isPoolAddress(src)) || src == backend.address();
        final int natAddress = masquerade ? snat.addressFor(src, backend.address()) : 0;
        final int entry = allocator.connect(
            cursor, a, b, natAddress, backend.address(), backend.port(), snat.portLow(), snat.portHigh(),
            StatusDescriptor.DST_NAT | (masquerade ? StatusDescriptor.SRC_NAT : 0) | tcpState << StatusDescriptor.TCP_STATE_SHIFT,
            backend.id() + 1, nowMs + initialTimeoutMs(protocol, tcpState));
        if (entry < 0)
        {
            return -(allocator.dropReason().id() + 1);
        }
        if (allocator.created())
        {
            backendCounters.add(backend.id(), BackendCounters.NEW, 1);
            backendCounters.add(backend.id(), BackendCounters.LIVE, 1);
        }
        return entry;
    }

    /**
     * The flow's backend was removed: end the connection, and answer the client so it is never left
     * waiting on a black hole (as IPVS's expire_nodest_conn): a TCP RST, or ICMP host unreachable.
     * Packets from the removed backend itself are dropped.
     */
    private int endRemovedBackendFlow(
        final MutableDirectBuffer buffer, final int offset, final int entry, final int dir, final int protocol,
        final int ihl, final int totalLength)
    {
        table.kill(cursor, entry, cursor.status());
        if (dir != ORIGINAL)
        {
            return DropReason.NO_BACKEND.id();
        }
        if (protocol == Ipv4Header.PROTO_TCP && resetRemovedBackendFlows)
        {
            if ((tcp.flags() & TcpHeader.RST) != 0)
            {
                return DropReason.NO_BACKEND.id();
            }
            outputLength = Answers.tcpReset(buffer, offset, ihl, totalLength, ip, tcp);
        }
        else
        {
            outputLength = Answers.icmpUnreachable(buffer, offset, ihl, totalLength, IcmpHeader.CODE_HOST_UNREACHABLE, ip, icmp);
        }
        answered = true;
        counters.increment(ConntrackCounter.BACKEND_GONE);
        return FORWARD;
    }

    /** The connection's backend id, -1 for none; only DNAT connections have one (and read the entry's record). */
    private int backendOf(final int entry, final int status)
    {
        return (status & StatusDescriptor.DST_NAT) != 0 ? table.extra(entry) - 1 : -1;
    }

    private boolean needsTranslation(final int src, final int dst)
    {
        return snat.isPoolAddress(dst) || (snat.isInside(src) && !snat.isPoolAddress(src));
    }

    private int untracked()
    {
        counters.increment(ConntrackCounter.UNTRACKED);
        return FORWARD;
    }

    private int initialTimeoutMs(final int protocol, final int tcpState)
    {
        switch (protocol)
        {
            case Ipv4Header.PROTO_TCP: return timeouts.tcpMs(tcpState);
            case Ipv4Header.PROTO_UDP: return timeouts.udpUnrepliedMs();
            default: return timeouts.icmpMs();
        }
    }

    /** Step 5: counts the packet, moves the connection's state on and pushes its deadline. */
    private void track(
        final int entry,
        final int dir,
        final int status,
        final int protocol,
        final int tcpFlags,
        final int packets,
        final int bytes,
        final int nowMs,
        final int backend)
    {
        final ConntrackTable table = this.table;
        table.account(entry, dir, packets, bytes);
        final int update = statusAfter(dir, protocol, tcpFlags, status, true, udpStream(entry, protocol, status, nowMs));
        if (update == status)
        {
            refreshDeadline(entry, protocol, status, nowMs);
            return;
        }
        changeStatus(entry, dir, protocol, tcpFlags, nowMs, backend, status, update);
    }

    /** A packet that leaves the status as it is moves the deadline, only when it is more than the slack behind. */
    private void refreshDeadline(final int entry, final int protocol, final int status, final int nowMs)
    {
        final int deadlineMs = nowMs + timeoutMs(protocol, status);
        if (deadlineMs - table.deadlineMs(entry) > DEADLINE_SLACK_MS)
        {
            table.deadlineMs(entry, deadlineMs);
        }
    }

    /**
     * The status a packet leaves the connection in: SEEN_REPLY on a reply, the TCP state after Linux's
     * transition table (an invalid segment, counted, and an ignored one keep the state), ASSURED once
     * established or, for UDP, once replied to. {@code countInvalid}: count an invalid segment (once per
     * packet, not again when a lost CAS makes the caller evaluate it anew).
     */
    private int statusAfter(
        final int dir, final int protocol, final int tcpFlags, final int status, final boolean countInvalid, final boolean udpStream)
    {
        final int update = dir == REPLY ? status | StatusDescriptor.SEEN_REPLY : status;
        switch (protocol)
        {
            case Ipv4Header.PROTO_TCP:
            {
                final int old = StatusDescriptor.tcpState(status);
                int next = TcpState.next(dir, tcpFlags, old);
                if (next == TcpState.INVALID)
                {
                    if (countInvalid)
                    {
                        counters.increment(ConntrackCounter.INVALID);
                    }
                    next = old;
                }
                else if (next == TcpState.IGNORE)
                {
                    next = old;
                }
                final boolean assured = next == TcpState.ESTABLISHED && (old == TcpState.SYN_RECV || old == TcpState.ESTABLISHED);
                return StatusDescriptor.withTcpState(assured ? update | StatusDescriptor.ASSURED : update, next);
            }
            case Ipv4Header.PROTO_UDP:
                // a stream once replied and still active past its first UDP_STREAM_MS (nf_conntrack_proto_udp)
                return (status & StatusDescriptor.SEEN_REPLY) != 0 && udpStream ? update | StatusDescriptor.ASSURED : update;
            default:
                return update;
        }
    }

    /**
     * True for a UDP connection in {@code status} that has seen a reply, is not yet assured, and is older than
     * {@link #UDP_STREAM_MS}: its next packet makes it a stream. Reads the entry's record only for such a connection.
     * Its age comes from its first deadline, which it got when it was created with the unreplied timeout.
     */
    private boolean udpStream(final int entry, final int protocol, final int status, final int nowMs)
    {
        return protocol == Ipv4Header.PROTO_UDP &&
            (status & (StatusDescriptor.SEEN_REPLY | StatusDescriptor.ASSURED)) == StatusDescriptor.SEEN_REPLY &&
            nowMs - (table.firstDeadlineMs(entry) - timeouts.udpUnrepliedMs()) >= UDP_STREAM_MS;
    }

    /** The timeout of a connection in {@code status}. */
    private int timeoutMs(final int protocol, final int status)
    {
        switch (protocol)
        {
            case Ipv4Header.PROTO_TCP:
                return timeouts.tcpMs(StatusDescriptor.tcpState(status));
            case Ipv4Header.PROTO_UDP:
                return (status & StatusDescriptor.ASSURED) != 0 ? timeouts.udpRepliedMs() : timeouts.udpUnrepliedMs();
            default:
                return timeouts.icmpMs();
        }
    }

    /**
     * {@link #track} for a packet that changes the connection's status from {@code status} to {@code update}:
     * CAS it (again from the status found, if another worker changed it first), count and tell what it did.
     */
    private void changeStatus(
        final int entry,
        final int dir,
        final int protocol,
        final int tcpFlags,
        final int nowMs,
        final int backend,
        final int found,
        final int firstUpdate)
    {
        int status = found;
        int update = firstUpdate;
        while (true)
        {
            if (update == status || table.compareAndSetStatus(entry, status, update))
            {
                if (backend >= 0 && protocol == Ipv4Header.PROTO_TCP && dir == REPLY && (tcpFlags & TcpHeader.RST) != 0 &&
                    StatusDescriptor.tcpState(status) == TcpState.SYN_SENT && update != status)
                {
                    backendCounters.add(backend, BackendCounters.SYN_RST, 1); // incident 3's evidence: a SYN reset
                }
                final int deadlineMs = nowMs + timeoutMs(protocol, update);
                final int oldDeadlineMs = table.deadlineMs(entry);
                if (update != status || deadlineMs - oldDeadlineMs > DEADLINE_SLACK_MS)
                {
                    table.deadlineMs(entry, deadlineMs);
                }
                if (update != status)
                {
                    events.onEvent(ConntrackEvents.UPDATE, table, entry, update);
                }
                return;
            }
            status = table.status(entry);
            if (StatusDescriptor.phase(status) != StatusDescriptor.PHASE_CONFIRMED ||
                StatusDescriptor.generation(status) != StatusDescriptor.generation(found))
            {
                return; // ended under us: this packet still goes out with the translation it found
            }
            // counted on the first evaluation
            update = statusAfter(dir, protocol, tcpFlags, status, false, udpStream(entry, protocol, status, nowMs));
        }
    }

    /**
     * Step 6: rewrites the packet of tuple {@code a, b} to the inverse of the other direction's tuple
     * {@code otherAddresses, otherPorts} (nf_nat_manip_pkt), checksums adjusted for the words that changed (RFC 1624).
     * TCP and UDP are written at the buffer's memory ({@link PacketMemory}), whose base and address stay
     * in registers across the stores (through the buffer, each store would make the compiler read them
     * again); {@link #parse} checked the packet's region. A {@code partialChecksum} (virtio NEEDS_CSUM) sums
     * the pseudo header only: it follows the addresses, not the ports (Linux's inet_proto_csum_replace4 and
     * _replace2 on a CHECKSUM_PARTIAL skb).
     */
    private void rewrite(
        final MutableDirectBuffer buffer,
        final int offset,
        final int ihl,
        final int protocol,
        final boolean partialChecksum,
        final long a,
        final long b,
        final long otherAddresses,
        final long otherPorts)
    {
        final byte[] base = buffer.byteArray();
        final long ipAddress = buffer.addressOffset() + offset;
        final int l4Delta = rewriteAddresses(base, ipAddress,
            FlowTuple.srcAddress(a), FlowTuple.dstAddress(a), FlowTuple.dstAddress(otherAddresses), FlowTuple.srcAddress(otherAddresses));
        final int srcPort = FlowTuple.srcPort(b);
        final int dstPort = FlowTuple.dstPort(b);
        final int newSrcPort = FlowTuple.dstPort(otherPorts);
        final int newDstPort = FlowTuple.srcPort(otherPorts);
        final long l4Address = ipAddress + ihl;
        switch (protocol)
        {
            case Ipv4Header.PROTO_TCP:
                if (partialChecksum)
                {
                    rewritePortsPartial(base, l4Address, TcpHeader.CHECKSUM_OFFSET, l4Delta, newSrcPort, newDstPort);
                    break;
                }
                rewritePorts(base, l4Address, TcpHeader.CHECKSUM_OFFSET, false, l4Delta, srcPort, dstPort, newSrcPort, newDstPort);
                break;
            case Ipv4Header.PROTO_UDP:
                if (partialChecksum)
                {
                    rewritePortsPartial(base, l4Address, UdpHeader.CHECKSUM_OFFSET, l4Delta, newSrcPort, newDstPort);
                    break;
                }
                rewritePorts(base, l4Address, UdpHeader.CHECKSUM_OFFSET, true, l4Delta, srcPort, dstPort, newSrcPort, newDstPort);
                break;
            default:
                rewriteEchoIdentifier(newSrcPort, newDstPort);
                break;
        }
    }

    /**
     * The IP header's addresses and checksum; returns the addresses' one's complement change, which the
     * IP checksum and the L4 pseudo header share.
     */
    private static int rewriteAddresses(
        final byte[] base, final long ipAddress, final int src, final int dst, final int newSrc, final int newDst)
    {
        int delta = 0;
        if (newSrc != src)
        {
            delta = Checksum.delta32(src, newSrc);
            PacketMemory.putInt(base, ipAddress + Ipv4Header.SRC_ADDRESS_OFFSET, newSrc);
        }
        if (newDst != dst)
        {
            delta = Checksum.addDelta(delta, Checksum.delta32(dst, newDst));
            PacketMemory.putInt(base, ipAddress + Ipv4Header.DST_ADDRESS_OFFSET, newDst);
        }
        if (delta != 0)
        {
            final long checksum = ipAddress + Ipv4Header.CHECKSUM_OFFSET;
            PacketMemory.putU16(base, checksum, Checksum.applyDelta(PacketMemory.u16(base, checksum), delta));
        }
        return delta;
    }

    /**
     * TCP or UDP ports (both at the header's start) and checksum, at {@code checksumOffset}; for UDP
     * ({@code optional}) a zero checksum means none and stays (RFC 768).
     */
    private static void rewritePorts(
        final byte[] base,
        final long l4Address,
        final int checksumOffset,
        final boolean optional,
        final int addressDelta,
        final int srcPort,
        final int dstPort,
        final int newSrcPort,
        final int newDstPort)
    {
        final int l4Delta = portsDelta(addressDelta, srcPort, dstPort, newSrcPort, newDstPort);
        PacketMemory.putU16(base, l4Address, newSrcPort);
        PacketMemory.putU16(base, l4Address + 2, newDstPort);
        final long checksumAddress = l4Address + checksumOffset;
        final int checksum = PacketMemory.u16(base, checksumAddress);
        if (l4Delta != 0 && (checksum != 0 || !optional))
        {
            final int updated = Checksum.applyDelta(checksum, l4Delta);
            // a computed zero is sent as 0xFFFF where 0 means "no checksum" (UDP)
            PacketMemory.putU16(base, checksumAddress, updated == 0 && optional ? 0xFFFF : updated);
        }
    }

    /**
     * TCP or UDP ports of a packet whose checksum field holds the partial sum of its pseudo header (not
     * inverted): only the addresses' change goes into it; the device sums the ports with the payload.
     */
    private static void rewritePortsPartial(
        final byte[] base,
        final long l4Address,
        final int checksumOffset,
        final int addressDelta,
        final int newSrcPort,
        final int newDstPort)
    {
        PacketMemory.putU16(base, l4Address, newSrcPort);
        PacketMemory.putU16(base, l4Address + 2, newDstPort);
        if (addressDelta != 0)
        {
            final long checksumAddress = l4Address + checksumOffset;
            PacketMemory.putU16(base, checksumAddress, Checksum.addDelta(PacketMemory.u16(base, checksumAddress), addressDelta));
        }
    }

    /** The L4 checksum's change for new ports, on top of the addresses' change. */
    private static int portsDelta(final int addressDelta, final int srcPort, final int dstPort, final int newSrcPort, final int newDstPort)
    {
        int l4Delta = addressDelta;
        if (newSrcPort != srcPort)
        {
            l4Delta = Checksum.addDelta(l4Delta, Checksum.delta16(srcPort, newSrcPort));
        }
        if (newDstPort != dstPort)
        {
            l4Delta = Checksum.addDelta(l4Delta, Checksum.delta16(dstPort, newDstPort));
        }
        return l4Delta;
    }

    /** ICMP echo: the identifier stands where the port of its direction stands; no pseudo header. */
    private void rewriteEchoIdentifier(final int newSrcPort, final int newDstPort)
    {
        final IcmpHeader icmp = this.icmp;
        final int id = icmp.identifier();
        final int newId = icmp.type() == IcmpHeader.ECHO_REQUEST ? newSrcPort : newDstPort;
        if (newId != id)
        {
            icmp.checksum(Checksum.adjust(icmp.checksum(), id, newId));
            icmp.identifier(newId);
        }
    }

    /**
     * An ICMP error quoting a packet of a tracked connection travels in the opposite direction to the
     * quoted packet: restore the quoted packet to how its sender sent it, and translate the outer
     * header as the connection translates that direction (nf_nat_icmp_reply_translation).
     */
    private int icmpError(final MutableDirectBuffer buffer, final int offset, final int j)
    {
        final int ihl = ihl(fields[j]);
        final long a = keys[2 * j];
        return icmpError(buffer, offset + ihl, totalLength(fields[j]) - ihl, FlowTuple.srcAddress(a), FlowTuple.dstAddress(a));
    }

    private int icmpError(
        final MutableDirectBuffer buffer, final int l4Offset, final int l4Length, final int src, final int dst)
    {
        final int innerOffset = l4Offset + IcmpHeader.EMBEDDED_OFFSET;
        final int end = l4Offset + l4Length;
        if (l4Length < IcmpHeader.EMBEDDED_OFFSET + Ipv4Header.MIN_LENGTH + 8)
        {
            return DropReason.BAD_EMBEDDED_PACKET.id();
        }
        final Ipv4Header inner = innerIp.wrap(buffer, innerOffset);
        final int innerIhl = inner.headerLength();
        if (inner.version() != 4 || innerIhl < Ipv4Header.MIN_LENGTH || innerOffset + innerIhl + 8 > end)
        {
            return DropReason.BAD_EMBEDDED_PACKET.id();
        }
        final int innerProtocol = inner.protocol();
        final int innerL4 = innerOffset + innerIhl;
        final int innerSrc = inner.srcAddress();
        final int innerDst = inner.dstAddress();
        final int innerSrcPort;
        final int innerDstPort;
        if (innerProtocol == Ipv4Header.PROTO_TCP || innerProtocol == Ipv4Header.PROTO_UDP)
        {
            innerSrcPort = buffer.getShort(innerL4, ByteOrder.BIG_ENDIAN) & 0xFFFF;
            innerDstPort = buffer.getShort(innerL4 + 2, ByteOrder.BIG_ENDIAN) & 0xFFFF;
        }
        else if (innerProtocol == Ipv4Header.PROTO_ICMP)
        {
            final int innerType = buffer.getByte(innerL4) & 0xFF;
            final int id = buffer.getShort(innerL4 + IcmpHeader.IDENTIFIER_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF;
            if (innerType == IcmpHeader.ECHO_REQUEST)
            {
                innerSrcPort = id;
                innerDstPort = 0;
            }
            else if (innerType == IcmpHeader.ECHO_REPLY)
            {
                innerSrcPort = 0;
                innerDstPort = id;
            }
            else
            {
                return needsTranslation(src, dst) ? DropReason.BAD_EMBEDDED_PACKET.id() : untracked();
            }
        }
        else
        {
            return needsTranslation(src, dst) ? DropReason.BAD_EMBEDDED_PACKET.id() : untracked();
        }

        // the error's own direction is the inverse of the quoted packet's
        final long a = FlowTuple.packAddresses(innerDst, innerSrc);
        final long b = FlowTuple.packPorts(innerProtocol, innerDstPort, innerSrcPort);
        if (!table.lookup(cursor, a, b) || StatusDescriptor.phase(cursor.status()) != StatusDescriptor.PHASE_CONFIRMED)
        {
            return needsTranslation(src, dst) ? DropReason.NO_MAPPING.id() : untracked(); // never out untranslated
        }
        final int entry = cursor.entry();
        final int dir = cursor.dir();
        final long thisAddresses = table.tupleAddresses(entry, dir);
        final long otherAddresses = table.tupleAddresses(entry, dir ^ 1);
        final long otherPorts = table.tuplePorts(entry, dir ^ 1);
        if (!table.stillValid(cursor))
        {
            return needsTranslation(src, dst) ? DropReason.NO_MAPPING.id() : untracked(); // never out untranslated
        }
        counters.increment(ConntrackCounter.FOUND);
        final int backend = backendOf(entry, cursor.status());
        if (backend >= 0 && dir == REPLY)
        {
            backendCounters.add(backend, BackendCounters.ICMP_ERRORS, 1);
        }

        // quoted packet: back to the tuple its sender used (the other direction's tuple)
        final IcmpHeader icmp = this.icmp;
        int icmpChecksum = icmp.checksum();
        int innerIpChecksum = inner.checksum();
        int innerL4Delta = 0;
        final int origInnerSrc = FlowTuple.srcAddress(otherAddresses);
        final int origInnerDst = FlowTuple.dstAddress(otherAddresses);
        final int origInnerSrcPort = FlowTuple.srcPort(otherPorts);
        final int origInnerDstPort = FlowTuple.dstPort(otherPorts);
        if (origInnerSrc != innerSrc)
        {
            innerIpChecksum = Checksum.adjust32(innerIpChecksum, innerSrc, origInnerSrc);
            innerL4Delta = Checksum.addDelta(innerL4Delta, Checksum.delta32(innerSrc, origInnerSrc));
            icmpChecksum = Checksum.adjust32(icmpChecksum, innerSrc, origInnerSrc);
            inner.srcAddress(origInnerSrc);
        }
        if (origInnerDst != innerDst)
        {
            innerIpChecksum = Checksum.adjust32(innerIpChecksum, innerDst, origInnerDst);
            innerL4Delta = Checksum.addDelta(innerL4Delta, Checksum.delta32(innerDst, origInnerDst));
            icmpChecksum = Checksum.adjust32(icmpChecksum, innerDst, origInnerDst);
            inner.dstAddress(origInnerDst);
        }
        icmpChecksum = Checksum.adjust(icmpChecksum, inner.checksum(), innerIpChecksum);
        inner.checksum(innerIpChecksum);

        if (innerProtocol == Ipv4Header.PROTO_ICMP)
        {
            final int oldId = innerSrcPort | innerDstPort;
            final int newId = origInnerSrcPort | origInnerDstPort;
            if (oldId != newId)
            {
                final int idOffset = innerL4 + IcmpHeader.IDENTIFIER_OFFSET;
                final int checksumOffset = innerL4 + IcmpHeader.CHECKSUM_OFFSET;
                icmpChecksum = putWord(buffer, idOffset, newId, icmpChecksum);
                if (checksumOffset + 2 <= end)
                {
                    final int old = buffer.getShort(checksumOffset, ByteOrder.BIG_ENDIAN) & 0xFFFF;
                    icmpChecksum = putWord(buffer, checksumOffset, Checksum.adjust(old, oldId, newId), icmpChecksum);
                }
            }
        }
        else
        {
            if (origInnerSrcPort != innerSrcPort)
            {
                innerL4Delta = Checksum.addDelta(innerL4Delta, Checksum.delta16(innerSrcPort, origInnerSrcPort));
                icmpChecksum = putWord(buffer, innerL4, origInnerSrcPort, icmpChecksum);
            }
            if (origInnerDstPort != innerDstPort)
            {
                innerL4Delta = Checksum.addDelta(innerL4Delta, Checksum.delta16(innerDstPort, origInnerDstPort));
                icmpChecksum = putWord(buffer, innerL4 + 2, origInnerDstPort, icmpChecksum);
            }
            final int checksumOffset = innerL4 +
                (innerProtocol == Ipv4Header.PROTO_TCP ? TcpHeader.CHECKSUM_OFFSET : UdpHeader.CHECKSUM_OFFSET);
            if (innerL4Delta != 0 && checksumOffset + 2 <= end)
            {
                final int old = buffer.getShort(checksumOffset, ByteOrder.BIG_ENDIAN) & 0xFFFF;
                if (innerProtocol == Ipv4Header.PROTO_TCP || old != 0)
                {
                    final int updated = Checksum.applyDelta(old, innerL4Delta);
                    // as for the outer UDP header: a computed zero is sent as 0xFFFF, 0 would mean "no checksum"
                    final int restored = updated == 0 && innerProtocol == Ipv4Header.PROTO_UDP ? 0xFFFF : updated;
                    icmpChecksum = putWord(buffer, checksumOffset, restored, icmpChecksum);
                }
            }
        }
        icmp.checksum(icmpChecksum);

        // outer header: only the addresses this connection translates in this direction
        final Ipv4Header ip = this.ip;
        int ipChecksum = ip.checksum();
        final int thisSrc = FlowTuple.srcAddress(thisAddresses);
        final int thisDst = FlowTuple.dstAddress(thisAddresses);
        final int newSrc = FlowTuple.dstAddress(otherAddresses);
        final int newDst = FlowTuple.srcAddress(otherAddresses);
        if (thisDst != newDst && dst != newDst)
        {
            ipChecksum = Checksum.adjust32(ipChecksum, dst, newDst);
            ip.dstAddress(newDst);
        }
        if (thisSrc != newSrc && src != newSrc)
        {
            ipChecksum = Checksum.adjust32(ipChecksum, src, newSrc);
            ip.srcAddress(newSrc);
        }
        ip.checksum(ipChecksum);
        return FORWARD;
    }

    /** Writes a 16-bit word inside an ICMP message and returns the ICMP checksum adjusted for it. */
    private static int putWord(final MutableDirectBuffer buffer, final int offset, final int value, final int icmpChecksum)
    {
        final int old = buffer.getShort(offset, ByteOrder.BIG_ENDIAN) & 0xFFFF;
        buffer.putShort(offset, (short)value, ByteOrder.BIG_ENDIAN);
        return Checksum.adjust(icmpChecksum, old, value);
    }
}
