package natgw.core.pipeline;

import java.nio.ByteOrder;

import org.agrona.MutableDirectBuffer;

import natgw.core.conntrack.ConntrackCounter;
import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.core.packet.Checksum;
import natgw.core.packet.DropReason;
import natgw.core.packet.IcmpHeader;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.TcpHeader;
import natgw.core.packet.UdpHeader;
import natgw.core.packet.VirtioNetHeader;

import static natgw.core.pipeline.Batch.PARTIAL_CSUM;

/**
 * The validation stage (Linux: {@code ip_rcv_core}, the protocols' {@code *_error} checks, and
 * {@code virtio_net_hdr_to_skb} with offloads on): checks IPv4, then TCP, UDP or ICMP, each failure one
 * counted {@link DropReason}, and reads the packet's flow key. The fixed headers are read as a few
 * big-endian words whose fields the header classes decode, and the checksums are summed from the same
 * words, so a packet's headers are loaded once.
 */
final class Validation
{
    /** {@link #virtioNetHeader}: the header contradicts the packet. */
    private static final int VNET_BAD = -1;
    /** {@link #virtioNetHeader}: no L4 checksum to verify (the kernel did, or the device will complete it). */
    private static final int VNET_VERIFIED = 1 << 17;
    private static final int VNET_GSO_KIND_SHIFT = 24;
    private static final int VNET_GSO_KIND_MASK = 0xFF << VNET_GSO_KIND_SHIFT;
    private static final int VNET_GSO_SIZE_MASK = 0xFFFF;

    private final ConntrackTable table;
    private final WorkerCounters counters;
    private final boolean verifyL4Checksums;
    private final Policy policy;
    private final Batch batch;
    private final IcmpHeader icmp;
    private final VirtioNetHeader vnet = new VirtioNetHeader();
    /** Bytes of virtio-net header before each packet: 0, or {@link VirtioNetHeader#LENGTH} with offloads. */
    private int vnetLength;

    Validation(
        final ConntrackTable table,
        final WorkerCounters counters,
        final boolean verifyL4Checksums,
        final Policy policy,
        final Batch batch,
        final IcmpHeader icmp)
    {
        this.table = table;
        this.counters = counters;
        this.verifyL4Checksums = verifyL4Checksums;
        this.policy = policy;
        this.batch = batch;
        this.icmp = icmp;
    }

    void vnetLength(final int vnetLength)
    {
        this.vnetLength = vnetLength;
    }

    /**
     * Validates the packet of {@code length} bytes at {@code offset} and leaves its flow key, bucket, the
     * header fields the later stages need and its offloads in slot {@code j} of the {@link Batch}.
     *
     * @return {@link Verdict#PARSED}, {@link Verdict#PARSED_ICMP_ERROR}, or a final verdict (a drop, or
     * FORWARD untracked).
     */
    int parse(final MutableDirectBuffer buffer, final int offset, final int length, final int j)
    {
        final Batch batch = this.batch;
        batch.offloads[j] = 1;
        batch.fragments[j] = 0;
        // 1. IPv4: the fixed header in three loads, its fields and its checksum taken from the same words
        if (length < Ipv4Header.MIN_LENGTH)
        {
            return Verdict.drop(DropReason.TRUNCATED);
        }
        buffer.boundsCheck(offset, length); // the one check of the packet's region: the rewrite writes at its memory
        final long ip0 = buffer.getLong(offset + Ipv4Header.WORD0_OFFSET, ByteOrder.BIG_ENDIAN);
        final long ip1 = buffer.getLong(offset + Ipv4Header.WORD1_OFFSET, ByteOrder.BIG_ENDIAN);
        final int dst = buffer.getInt(offset + Ipv4Header.DST_ADDRESS_OFFSET, ByteOrder.BIG_ENDIAN);
        if (Ipv4Header.versionOf(ip0) != 4)
        {
            return Verdict.drop(DropReason.BAD_VERSION);
        }
        final int ihl = Ipv4Header.headerLengthOf(ip0);
        if (ihl < Ipv4Header.MIN_LENGTH || ihl > length)
        {
            return Verdict.drop(DropReason.BAD_HEADER_LENGTH);
        }
        final int totalLength = Ipv4Header.totalLengthOf(ip0);
        if (totalLength < ihl || totalLength > length)
        {
            return Verdict.drop(DropReason.BAD_TOTAL_LENGTH);
        }
        final long ipSum = sumRest(buffer, offset, Ipv4Header.MIN_LENGTH, ihl, sum32(ip0) + sum32(ip1) + (dst & 0xFFFF_FFFFL));
        if (Checksum.finish(ipSum) != 0)
        {
            return Verdict.drop(DropReason.BAD_HEADER_CHECKSUM);
        }
        if (Ipv4Header.ttlOf(ip1) == 0)
        {
            return Verdict.drop(DropReason.TTL_EXPIRED);
        }
        final int protocol = Ipv4Header.protocolOf(ip1);
        final int src = Ipv4Header.srcAddressOf(ip1);
        final boolean fragment = Ipv4Header.isFragmentOf(ip0);
        if (fragment)
        {
            if (totalLength == ihl)
            {
                return Verdict.drop(DropReason.BAD_TOTAL_LENGTH); // a fragment of nothing
            }
            if (protocol != Ipv4Header.PROTO_TCP && protocol != Ipv4Header.PROTO_UDP && protocol != Ipv4Header.PROTO_ICMP)
            {
                return policy.untrackable(src, dst, DropReason.UNSUPPORTED_PROTOCOL); // decided by addresses alone, as whole packets
            }
            batch.fragments[j] = Batch.packFragment(Ipv4Header.identificationOf(ip0), Ipv4Header.moreFragmentsOf(ip0));
            batch.fragmentOffsets[j] = Ipv4Header.fragmentOffsetOf(ip0);
        }
        int vnetState = 0;
        if (vnetLength != 0)
        {
            vnetState = virtioNetHeader(buffer, offset, length, totalLength, ihl, protocol);
            // the kernel finishes a partial checksum before it fragments (ip_do_fragment): one here would be wrong
            if (vnetState == VNET_BAD || fragment && (vnetState & (PARTIAL_CSUM | VNET_GSO_KIND_MASK)) != 0)
            {
                return Verdict.drop(DropReason.BAD_VNET_HEADER);
            }
        }
        if (fragment && batch.fragmentOffsets[j] != 0)
        {
            // a later fragment: no L4 header; its datagram's first fragment decides
            batch.key(j, FlowTuple.packAddresses(src, dst), FlowTuple.packPorts(protocol, 0, 0));
            batch.fields[j] = Batch.packFields(0, ihl, totalLength);
            return Verdict.PARSED_FRAGMENT;
        }
        // a first fragment's L4 checksum covers bytes not in it: not verified (the rewrite's update is right without them)
        final boolean verifyL4 = verifyL4Checksums && !fragment && (vnetState & (PARTIAL_CSUM | VNET_VERIFIED)) == 0;

        // 2. transport and flow key
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
                    return Verdict.drop(DropReason.BAD_L4_LENGTH);
                }
                final long tcp0 = buffer.getLong(l4Offset + TcpHeader.WORD0_OFFSET, ByteOrder.BIG_ENDIAN);
                final long tcp1 = buffer.getLong(l4Offset + TcpHeader.WORD1_OFFSET, ByteOrder.BIG_ENDIAN);
                final int hl = TcpHeader.headerLengthOf(tcp1);
                if (hl < TcpHeader.MIN_LENGTH || hl > l4Length)
                {
                    return Verdict.drop(DropReason.BAD_L4_LENGTH);
                }
                if (verifyL4)
                {
                    final long headerSum = Checksum.pseudoHeaderSum(src, dst, Ipv4Header.PROTO_TCP, l4Length) +
                        sum32(tcp0) + sum32(tcp1) +
                        (buffer.getInt(l4Offset + TcpHeader.CHECKSUM_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF_FFFFL);
                    if (Checksum.finish(sumRest(buffer, l4Offset, TcpHeader.MIN_LENGTH, l4Length, headerSum)) != 0)
                    {
                        return Verdict.drop(DropReason.BAD_L4_CHECKSUM);
                    }
                }
                srcPort = TcpHeader.srcPortOf(tcp0);
                dstPort = TcpHeader.dstPortOf(tcp0);
                tcpFlags = TcpHeader.flagsOf(tcp1);
                l4HeaderLength = hl;
                payloadLength = l4Length - hl;
                break;
            }
            case Ipv4Header.PROTO_UDP:
            {
                if (l4Length < UdpHeader.LENGTH)
                {
                    return Verdict.drop(DropReason.BAD_L4_LENGTH);
                }
                final long udp0 = buffer.getLong(l4Offset, ByteOrder.BIG_ENDIAN);
                final int udpLength = UdpHeader.lengthOf(udp0);
                if (udpLength < UdpHeader.LENGTH || (fragment ? udpLength <= l4Length : udpLength > l4Length))
                {
                    return Verdict.drop(DropReason.BAD_L4_LENGTH);
                }
                // a zero checksum means the sender computed none (RFC 768)
                if (verifyL4 && UdpHeader.checksumOf(udp0) != 0)
                {
                    final long headerSum = Checksum.pseudoHeaderSum(src, dst, Ipv4Header.PROTO_UDP, udpLength) + sum32(udp0);
                    if (Checksum.finish(sumRest(buffer, l4Offset, UdpHeader.LENGTH, udpLength, headerSum)) != 0)
                    {
                        return Verdict.drop(DropReason.BAD_L4_CHECKSUM);
                    }
                }
                srcPort = UdpHeader.srcPortOf(udp0);
                dstPort = UdpHeader.dstPortOf(udp0);
                l4HeaderLength = UdpHeader.LENGTH;
                payloadLength = udpLength - UdpHeader.LENGTH;
                break;
            }
            case Ipv4Header.PROTO_ICMP:
            {
                if (l4Length < IcmpHeader.HEADER_LENGTH)
                {
                    return Verdict.drop(DropReason.BAD_L4_LENGTH);
                }
                final IcmpHeader icmp = this.icmp.wrap(buffer, l4Offset);
                if (verifyL4 && !icmp.isChecksumValid(l4Length))
                {
                    return Verdict.drop(DropReason.BAD_L4_CHECKSUM);
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
                    if (fragment)
                    {
                        return Verdict.drop(DropReason.FRAGMENT); // an ICMP error fits in 576 bytes: a fragmented one is not translated
                    }
                    batch.key(j, FlowTuple.packAddresses(src, dst), 0);
                    batch.fields[j] = Batch.packFields(0, ihl, totalLength);
                    return Verdict.PARSED_ICMP_ERROR;
                }
                else
                {
                    return policy.untrackable(src, dst, DropReason.UNSUPPORTED_ICMP);
                }
                break;
            }
            default:
                return policy.untrackable(src, dst, DropReason.UNSUPPORTED_PROTOCOL);
        }

        final long addresses = FlowTuple.packAddresses(src, dst);
        final long ports = FlowTuple.packPorts(protocol, srcPort, dstPort);
        batch.key(j, addresses, ports);
        batch.buckets[j] = table.bucket(addresses, ports);
        batch.fields[j] = Batch.packFields(tcpFlags, ihl, totalLength);
        int segments = 1;
        if (vnetState >>> VNET_GSO_KIND_SHIFT != VirtioNetHeader.GSO_NONE)
        {
            segments = VirtioNetHeader.segments(payloadLength, vnetState & VNET_GSO_SIZE_MASK);
            counters.add(ConntrackCounter.RX_PACKETS, segments - 1);
        }
        batch.offloads[j] = segments | (vnetState & PARTIAL_CSUM);
        batch.wireBytes[j] = totalLength + (segments - 1) * (ihl + l4HeaderLength);
        return Verdict.PARSED;
    }

    /**
     * With offloads on: checks the virtio-net header in front of the IP header at {@code offset}
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
    static long sum32(final long word)
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
}
