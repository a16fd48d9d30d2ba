package natgw.core.pipeline;

import org.agrona.MutableDirectBuffer;

import natgw.core.flow.FlowTuple;
import natgw.core.packet.Checksum;
import natgw.core.packet.IcmpHeader;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.PacketMemory;
import natgw.core.packet.TcpHeader;
import natgw.core.packet.UdpHeader;

/**
 * The rewrite stage (Linux: {@code nf_nat_manip_pkt} in {@code nf_nat_proto.c}): a packet of a connection
 * gets the inverse of the other direction's tuple, its checksums adjusted for the words that changed (RFC
 * 1624), never recomputed. Static: no state, and calls the compiler inlines into the packet path.
 */
final class Rewrite
{
    /** One hop in the TTL-and-protocol word of the IPv4 header. */
    private static final int ONE_HOP = 1 << 8;
    /** That word with a TTL of 255: no hop is added to it. */
    private static final int MAX_TTL_WORD = 0xFF << 8;

    private Rewrite()
    {
    }

    /**
     * Rewrites the packet of tuple {@code addresses, ports} to the inverse of the other direction's tuple
     * {@code otherAddresses, otherPorts}. TCP and UDP are written at the buffer's memory ({@link PacketMemory}),
     * whose base and address stay in registers across the stores (through the buffer, each store would make
     * the compiler read them again); validation checked the packet's region. A {@code partialChecksum} (virtio
     * NEEDS_CSUM) sums the pseudo header only: it follows the addresses, not the ports (Linux's
     * inet_proto_csum_replace4 and _replace2 on a CHECKSUM_PARTIAL skb). ICMP echo goes through {@code icmp},
     * already on the packet.
     */
    static void rewrite(
        final MutableDirectBuffer buffer,
        final int offset,
        final int ihl,
        final int protocol,
        final boolean partialChecksum,
        final long addresses,
        final long ports,
        final long otherAddresses,
        final long otherPorts,
        final IcmpHeader icmp)
    {
        final byte[] base = buffer.byteArray();
        final long ipAddress = buffer.addressOffset() + offset;
        final int l4Delta = rewriteAddresses(base, ipAddress, FlowTuple.srcAddress(addresses), FlowTuple.dstAddress(addresses),
            FlowTuple.dstAddress(otherAddresses), FlowTuple.srcAddress(otherAddresses));
        final int srcPort = FlowTuple.srcPort(ports);
        final int dstPort = FlowTuple.dstPort(ports);
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
                rewriteEchoIdentifier(icmp, newSrcPort, newDstPort);
                break;
        }
    }

    /**
     * A fragment after the first: its datagram's addresses, and the IP checksum; it has no L4 header, so nothing
     * else changes.
     */
    static void rewriteFragment(final MutableDirectBuffer buffer, final int offset, final int newSrc, final int newDst)
    {
        final byte[] base = buffer.byteArray();
        final long ipAddress = buffer.addressOffset() + offset;
        rewriteAddresses(base, ipAddress, buffer.getInt(offset + Ipv4Header.SRC_ADDRESS_OFFSET, java.nio.ByteOrder.BIG_ENDIAN),
            buffer.getInt(offset + Ipv4Header.DST_ADDRESS_OFFSET, java.nio.ByteOrder.BIG_ENDIAN), newSrc, newDst);
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

    /**
     * Gives back the hop the gateway's kernel took on the way into the TUN: the packet crosses the kernel's
     * forwarding twice (into the TUN, then out of it), and without this the gateway would count as two hops
     * (traceroute would list it twice, a packet sent with TTL 2 would die in the gateway). A TTL of 255 stays:
     * the kernel never forwards one into the TUN, so it was sent from the gateway itself. The TTL and the
     * protocol are one word of the header checksum (RFC 1624 update); for a GSO super-packet the header is
     * written once and the segments are cut from it.
     */
    static void restoreHop(final MutableDirectBuffer buffer, final int offset)
    {
        final byte[] base = buffer.byteArray();
        final long ttlAddress = buffer.addressOffset() + offset + Ipv4Header.TTL_OFFSET;
        final int word = PacketMemory.u16(base, ttlAddress);
        if (word < MAX_TTL_WORD)
        {
            final int restored = word + ONE_HOP;
            PacketMemory.putU16(base, ttlAddress, restored);
            final long checksumAddress = ttlAddress + Ipv4Header.CHECKSUM_OFFSET - Ipv4Header.TTL_OFFSET;
            PacketMemory.putU16(base, checksumAddress, Checksum.adjust(PacketMemory.u16(base, checksumAddress), word, restored));
        }
    }

    /** ICMP echo: the identifier stands where the port of its direction stands; no pseudo header. */
    private static void rewriteEchoIdentifier(final IcmpHeader icmp, final int newSrcPort, final int newDstPort)
    {
        final int id = icmp.identifier();
        final int newId = icmp.type() == IcmpHeader.ECHO_REQUEST ? newSrcPort : newDstPort;
        if (newId != id)
        {
            icmp.checksum(Checksum.adjust(icmp.checksum(), id, newId));
            icmp.identifier(newId);
        }
    }
}
