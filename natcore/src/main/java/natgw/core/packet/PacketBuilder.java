package natgw.core.packet;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * Builds well-formed IPv4 packets with the production flyweights and full checksums: for tests,
 * benchmarks and load generators, never the forwarding path.
 */
public final class PacketBuilder
{
    private final UnsafeBuffer buffer;
    private final Ipv4Header ip = new Ipv4Header();
    private final TcpHeader tcp = new TcpHeader();
    private final UdpHeader udp = new UdpHeader();
    private final IcmpHeader icmp = new IcmpHeader();
    private int ttl = 64;
    private int identification = 1;

    public PacketBuilder()
    {
        this(new UnsafeBuffer(ByteBuffer.allocateDirect(65536)));
    }

    public PacketBuilder(final UnsafeBuffer buffer)
    {
        this.buffer = buffer;
    }

    public UnsafeBuffer buffer()
    {
        return buffer;
    }

    public PacketBuilder ttl(final int ttl)
    {
        this.ttl = ttl;
        return this;
    }

    /** The IP identification of the next packet built; each packet after it takes the next value. */
    public PacketBuilder identification(final int identification)
    {
        this.identification = identification;
        return this;
    }

    private int ipHeader(final int offset, final int protocol, final int src, final int dst, final int l4Length)
    {
        ip.wrap(buffer, offset)
            .versionAndHeaderLength(4, Ipv4Header.MIN_LENGTH)
            .tos(0)
            .totalLength(Ipv4Header.MIN_LENGTH + l4Length)
            .identification(identification++)
            .flagsAndFragmentOffset(Ipv4Header.FLAG_DF)
            .ttl(ttl)
            .protocol(protocol)
            .srcAddress(src)
            .dstAddress(dst)
            .computeChecksum();
        return offset + Ipv4Header.MIN_LENGTH;
    }

    /** A TCP segment with {@code payload} bytes of pattern data; returns the packet length. */
    public int tcp(final int offset, final int src, final int srcPort, final int dst, final int dstPort,
        final int flags, final int seq, final int ack, final int payload)
    {
        return tcp(offset, src, srcPort, dst, dstPort, flags, seq, ack, TcpHeader.NO_TIMESTAMP, payload);
    }

    /**
     * A TCP segment as {@link #tcp(int, int, int, int, int, int, int, int, int)} with, unless {@code tsval} is
     * {@link TcpHeader#NO_TIMESTAMP}, a timestamp option of that TSval (TSecr 0) after two NOPs, as Linux lays it out.
     */
    public int tcp(final int offset, final int src, final int srcPort, final int dst, final int dstPort,
        final int flags, final int seq, final int ack, final long tsval, final int payload)
    {
        final int headerLength = TcpHeader.MIN_LENGTH + (tsval == TcpHeader.NO_TIMESTAMP ? 0 : 2 + TcpHeader.TIMESTAMP_OPTION_LENGTH);
        final int l4Length = headerLength + payload;
        final int l4 = ipHeader(offset, Ipv4Header.PROTO_TCP, src, dst, l4Length);
        tcp.wrap(buffer, l4).srcPort(srcPort).dstPort(dstPort).sequence(seq).ack(ack)
            .headerLength(headerLength).flags(flags).window(65535).checksum(0);
        buffer.putShort(l4 + TcpHeader.URGENT_OFFSET, (short)0);
        if (tsval != TcpHeader.NO_TIMESTAMP)
        {
            final int option = l4 + TcpHeader.MIN_LENGTH;
            buffer.putByte(option, (byte)TcpHeader.OPTION_NOP);
            buffer.putByte(option + 1, (byte)TcpHeader.OPTION_NOP);
            buffer.putByte(option + 2, (byte)TcpHeader.OPTION_TIMESTAMP);
            buffer.putByte(option + 3, (byte)TcpHeader.TIMESTAMP_OPTION_LENGTH);
            buffer.putInt(option + 4, (int)tsval, ByteOrder.BIG_ENDIAN);
            buffer.putInt(option + 8, 0);
        }
        fill(l4 + headerLength, payload);
        tcp.computeChecksum(src, dst, l4Length);
        return Ipv4Header.MIN_LENGTH + l4Length;
    }

    /** A UDP datagram with {@code payload} bytes of pattern data; returns the packet length. */
    public int udp(final int offset, final int src, final int srcPort, final int dst, final int dstPort, final int payload)
    {
        final int l4Length = UdpHeader.LENGTH + payload;
        final int l4 = ipHeader(offset, Ipv4Header.PROTO_UDP, src, dst, l4Length);
        udp.wrap(buffer, l4).srcPort(srcPort).dstPort(dstPort).length(l4Length);
        fill(l4 + UdpHeader.LENGTH, payload);
        udp.computeChecksum(src, dst);
        return Ipv4Header.MIN_LENGTH + l4Length;
    }

    /**
     * Cuts the datagram at {@code offset} into fragments of at most {@code mtu} bytes as a sending host's
     * ip_fragment does (each payload a multiple of 8 bytes but the last's, the header copied, DF cleared), written
     * one after another from {@code to}; fragment i at {@code offsets[i]}, {@code lengths[i]} bytes.
     *
     * @return the number of fragments.
     */
    public int fragment(final int offset, final int to, final int mtu, final int[] offsets, final int[] lengths)
    {
        final Ipv4Header datagram = new Ipv4Header().wrap(buffer, offset);
        final int ihl = datagram.headerLength();
        final int payload = datagram.totalLength() - ihl;
        final int step = (mtu - ihl) & ~7;
        int count = 0;
        int at = to;
        for (int start = 0; start < payload; start += step)
        {
            final int length = Math.min(step, payload - start);
            buffer.putBytes(at, buffer, offset, ihl);
            buffer.putBytes(at + ihl, buffer, offset + ihl + start, length);
            final boolean more = start + length < payload;
            ip.wrap(buffer, at).totalLength(ihl + length)
                .flagsAndFragmentOffset((more ? Ipv4Header.FLAG_MF : 0) | start >>> 3).computeChecksum();
            offsets[count] = at;
            lengths[count++] = ihl + length;
            at += ihl + length;
        }
        return count;
    }

    /** An ICMP echo request or reply; returns the packet length. */
    public int icmpEcho(final int offset, final int src, final int dst, final int type, final int id, final int seq, final int payload)
    {
        final int l4Length = IcmpHeader.HEADER_LENGTH + payload;
        final int l4 = ipHeader(offset, Ipv4Header.PROTO_ICMP, src, dst, l4Length);
        icmp.wrap(buffer, l4).type(type).code(0).identifier(id).sequence(seq);
        fill(l4 + IcmpHeader.HEADER_LENGTH, payload);
        icmp.computeChecksum(l4Length);
        return Ipv4Header.MIN_LENGTH + l4Length;
    }

    /**
     * An ICMP error from {@code src} to {@code dst} quoting {@code quotedLength} bytes of the packet at
     * {@code quotedOffset} (which must not overlap the output); returns the packet length.
     */
    public int icmpError(final int offset, final int src, final int dst, final int type, final int code,
        final int quotedOffset, final int quotedLength)
    {
        final int l4Length = IcmpHeader.HEADER_LENGTH + quotedLength;
        final int l4 = ipHeader(offset, Ipv4Header.PROTO_ICMP, src, dst, l4Length);
        icmp.wrap(buffer, l4).type(type).code(code).identifier(0).sequence(0);
        buffer.putBytes(l4 + IcmpHeader.EMBEDDED_OFFSET, buffer, quotedOffset, quotedLength);
        icmp.computeChecksum(l4Length);
        return Ipv4Header.MIN_LENGTH + l4Length;
    }

    private void fill(final int offset, final int length)
    {
        for (int i = 0; i < length; i++)
        {
            buffer.putByte(offset + i, (byte)('a' + i % 26));
        }
    }
}
