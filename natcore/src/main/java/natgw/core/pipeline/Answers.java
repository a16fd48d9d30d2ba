package natgw.core.pipeline;

import org.agrona.MutableDirectBuffer;

import natgw.core.packet.IcmpHeader;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.TcpHeader;

/**
 * Answers the gateway sends in place of a packet, built over the packet's own buffer: a TCP RST
 * (RFC 9293 3.10.7.1 reset generation) and an ICMP destination unreachable (RFC 792/1812: the IP
 * header and first 8 bytes of the packet quoted). Rare, so checksums are computed in full.
 */
final class Answers
{
    private static final int TTL = 64;

    private Answers()
    {
    }

    /**
     * Turns the TCP segment at {@code offset} into the RST its sender should receive from its
     * destination. {@code ip} and {@code tcp} are wrapped on the segment. Returns the new length.
     */
    static int tcpReset(
        final MutableDirectBuffer buffer, final int offset, final int ihl, final int totalLength,
        final Ipv4Header ip, final TcpHeader tcp)
    {
        final int src = ip.srcAddress();
        final int dst = ip.dstAddress();
        final int srcPort = tcp.srcPort();
        final int dstPort = tcp.dstPort();
        final int flags = tcp.flags();
        final int seq = tcp.sequence();
        final int ack = tcp.ack();
        final int segmentLength = totalLength - ihl - tcp.headerLength() +
            ((flags & TcpHeader.SYN) != 0 ? 1 : 0) + ((flags & TcpHeader.FIN) != 0 ? 1 : 0);

        final int length = Ipv4Header.MIN_LENGTH + TcpHeader.MIN_LENGTH;
        ipHeader(ip.wrap(buffer, offset), dst, src, Ipv4Header.PROTO_TCP, length);
        tcp.wrap(buffer, offset + Ipv4Header.MIN_LENGTH)
            .srcPort(dstPort)
            .dstPort(srcPort)
            .headerLength(TcpHeader.MIN_LENGTH)
            .window(0)
            .checksum(0);
        buffer.putShort(offset + Ipv4Header.MIN_LENGTH + TcpHeader.URGENT_OFFSET, (short)0);
        if ((flags & TcpHeader.ACK) != 0)
        {
            tcp.sequence(ack).ack(0).flags(TcpHeader.RST);
        }
        else
        {
            tcp.sequence(0).ack(seq + segmentLength).flags(TcpHeader.RST | TcpHeader.ACK);
        }
        tcp.computeChecksum(dst, src, TcpHeader.MIN_LENGTH);
        return length;
    }

    /**
     * Turns the packet at {@code offset} into an ICMP destination unreachable for its sender, from its
     * destination, quoting its IP header and 8 bytes. Needs room for 28 more bytes after the packet.
     * Returns the new length.
     */
    static int icmpUnreachable(
        final MutableDirectBuffer buffer, final int offset, final int ihl, final int totalLength, final int code,
        final Ipv4Header ip, final IcmpHeader icmp)
    {
        final int src = ip.srcAddress();
        final int dst = ip.dstAddress();
        final int quoted = Math.min(totalLength, ihl + 8);
        final int shift = Ipv4Header.MIN_LENGTH + IcmpHeader.HEADER_LENGTH;
        for (int i = quoted - 1; i >= 0; i--)
        {
            buffer.putByte(offset + shift + i, buffer.getByte(offset + i));
        }
        final int length = shift + quoted;
        ipHeader(ip.wrap(buffer, offset), dst, src, Ipv4Header.PROTO_ICMP, length);
        icmp.wrap(buffer, offset + Ipv4Header.MIN_LENGTH)
            .type(IcmpHeader.DEST_UNREACHABLE)
            .code(code)
            .identifier(0)
            .sequence(0)
            .computeChecksum(IcmpHeader.HEADER_LENGTH + quoted);
        return length;
    }

    private static void ipHeader(final Ipv4Header ip, final int src, final int dst, final int protocol, final int length)
    {
        ip.versionAndHeaderLength(4, Ipv4Header.MIN_LENGTH)
            .tos(0)
            .totalLength(length)
            .identification(0)
            .flagsAndFragmentOffset(Ipv4Header.FLAG_DF)
            .ttl(TTL)
            .protocol(protocol)
            .srcAddress(src)
            .dstAddress(dst)
            .computeChecksum();
    }
}
