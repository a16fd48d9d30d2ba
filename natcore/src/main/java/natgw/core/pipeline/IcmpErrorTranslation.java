package natgw.core.pipeline;

import java.nio.ByteOrder;

import org.agrona.MutableDirectBuffer;

import natgw.core.conntrack.ConntrackCounter;
import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.StatusDescriptor;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.core.nat.BackendCounters;
import natgw.core.packet.Checksum;
import natgw.core.packet.DropReason;
import natgw.core.packet.IcmpHeader;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.TcpHeader;
import natgw.core.packet.UdpHeader;

import static natgw.core.conntrack.ConntrackTable.REPLY;

/**
 * The ICMP error stage (Linux: {@code nf_nat_icmp_reply_translation}): an error that quotes a packet of a
 * tracked connection is translated by that connection, the quoted packet and the outer header both, their
 * checksums adjusted; one that quotes no connection is dropped if it would need translation.
 */
final class IcmpErrorTranslation
{
    private final ConntrackTable table;
    private final ConntrackTable.Cursor cursor;
    private final WorkerCounters counters;
    private final BackendCounters backendCounters;
    private final Tracking tracking;
    private final Policy policy;
    private final Batch batch;
    private final Ipv4Header ip;
    private final IcmpHeader icmp;
    private final Ipv4Header innerIp = new Ipv4Header();

    IcmpErrorTranslation(
        final ConntrackTable table,
        final ConntrackTable.Cursor cursor,
        final WorkerCounters counters,
        final BackendCounters backendCounters,
        final Tracking tracking,
        final Policy policy,
        final Batch batch,
        final Ipv4Header ip,
        final IcmpHeader icmp)
    {
        this.table = table;
        this.cursor = cursor;
        this.counters = counters;
        this.backendCounters = backendCounters;
        this.tracking = tracking;
        this.policy = policy;
        this.batch = batch;
        this.ip = ip;
        this.icmp = icmp;
    }

    /**
     * An ICMP error quoting a packet of a tracked connection travels in the opposite direction to the
     * quoted packet: restore the quoted packet to how its sender sent it, and translate the outer
     * header as the connection translates that direction (nf_nat_icmp_reply_translation).
     */
    int translate(final MutableDirectBuffer buffer, final int offset, final int j)
    {
        final int fields = batch.fields[j];
        final int ihl = Batch.ihl(fields);
        final long addresses = batch.addresses(j);
        return translate(buffer, offset + ihl, Batch.totalLength(fields) - ihl, FlowTuple.srcAddress(addresses),
            FlowTuple.dstAddress(addresses));
    }

    private int translate(
        final MutableDirectBuffer buffer, final int l4Offset, final int l4Length, final int src, final int dst)
    {
        final int innerOffset = l4Offset + IcmpHeader.EMBEDDED_OFFSET;
        final int end = l4Offset + l4Length;
        if (l4Length < IcmpHeader.EMBEDDED_OFFSET + Ipv4Header.MIN_LENGTH + 8)
        {
            return Verdict.drop(DropReason.BAD_EMBEDDED_PACKET);
        }
        final Ipv4Header inner = innerIp.wrap(buffer, innerOffset);
        final int innerIhl = inner.headerLength();
        if (inner.version() != 4 || innerIhl < Ipv4Header.MIN_LENGTH || innerOffset + innerIhl + 8 > end)
        {
            return Verdict.drop(DropReason.BAD_EMBEDDED_PACKET);
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
                return policy.untrackable(src, dst, DropReason.BAD_EMBEDDED_PACKET);
            }
        }
        else
        {
            return policy.untrackable(src, dst, DropReason.BAD_EMBEDDED_PACKET);
        }

        // the error's own direction is the inverse of the quoted packet's
        final long addresses = FlowTuple.packAddresses(innerDst, innerSrc);
        final long ports = FlowTuple.packPorts(innerProtocol, innerDstPort, innerSrcPort);
        if (!table.lookup(cursor, addresses, ports) || !StatusDescriptor.isConfirmed(cursor.status()))
        {
            return policy.untrackable(src, dst, DropReason.NO_MAPPING); // never out untranslated
        }
        final int entry = cursor.entry();
        final int dir = cursor.dir();
        final long thisAddresses = table.tupleAddresses(entry, dir);
        final long otherAddresses = table.tupleAddresses(entry, dir ^ 1);
        final long otherPorts = table.tuplePorts(entry, dir ^ 1);
        if (!table.stillValid(cursor))
        {
            return policy.untrackable(src, dst, DropReason.NO_MAPPING); // never out untranslated
        }
        counters.increment(ConntrackCounter.FOUND);
        final int backend = tracking.backendOf(entry, cursor.status());
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
        return Verdict.FORWARD;
    }

    /** Writes a 16-bit word inside an ICMP message and returns the ICMP checksum adjusted for it. */
    private static int putWord(final MutableDirectBuffer buffer, final int offset, final int value, final int icmpChecksum)
    {
        final int old = buffer.getShort(offset, ByteOrder.BIG_ENDIAN) & 0xFFFF;
        buffer.putShort(offset, (short)value, ByteOrder.BIG_ENDIAN);
        return Checksum.adjust(icmpChecksum, old, value);
    }
}
