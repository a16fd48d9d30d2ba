package natgw.core.testing;

import org.agrona.DirectBuffer;

/**
 * An independent RFC 1071 implementation for tests, written from the RFC and sharing no code with
 * production: byte arrays, one 16-bit word at a time, end-around carry after every addition. Checks
 * are full recomputes: the checksum field is zeroed, the checksum computed and compared with the
 * field, so a wrong representation of zero (0x0000 for 0xFFFF) is caught too.
 */
public final class ReferenceChecksum
{
    private static final int PROTO_ICMP = 1;
    private static final int PROTO_TCP = 6;
    private static final int PROTO_UDP = 17;

    private ReferenceChecksum()
    {
    }

    /** One's complement sum of 16-bit big-endian words, odd byte padded with zero, folded to 16 bits. */
    public static int onesComplementSum(final byte[] data, final int offset, final int length, final int initial)
    {
        int sum = initial;
        for (int i = 0; i < length; i += 2)
        {
            final int hi = data[offset + i] & 0xFF;
            final int lo = i + 1 < length ? data[offset + i + 1] & 0xFF : 0;
            sum += hi << 8 | lo;
            if (sum > 0xFFFF)
            {
                sum = (sum & 0xFFFF) + 1;
            }
        }
        return sum;
    }

    /** The checksum of a region: the complement of its one's complement sum. */
    public static int checksum(final byte[] data, final int offset, final int length)
    {
        return ~onesComplementSum(data, offset, length, 0) & 0xFFFF;
    }

    /** The checksum a region should carry in its field at {@code fieldOffset}, computed with the field zeroed. */
    public static int expected(final byte[] data, final int offset, final int length, final int fieldOffset, final int initial)
    {
        final byte[] copy = data.clone();
        copy[fieldOffset] = 0;
        copy[fieldOffset + 1] = 0;
        return ~onesComplementSum(copy, offset, length, initial) & 0xFFFF;
    }

    public static int field(final byte[] data, final int offset)
    {
        return (data[offset] & 0xFF) << 8 | data[offset + 1] & 0xFF;
    }

    public static int ipHeaderLength(final byte[] packet, final int ipOffset)
    {
        return (packet[ipOffset] & 0x0F) * 4;
    }

    /** Expected IPv4 header checksum of the header at {@code ipOffset}. */
    public static int expectedIpChecksum(final byte[] packet, final int ipOffset)
    {
        return expected(packet, ipOffset, ipHeaderLength(packet, ipOffset), ipOffset + 10, 0);
    }

    /** Sum of the TCP/UDP pseudo header (RFC 793, RFC 768) of the IPv4 packet at {@code ipOffset}. */
    public static int pseudoHeaderSum(final byte[] packet, final int ipOffset, final int l4Length)
    {
        final byte[] pseudo = new byte[12];
        System.arraycopy(packet, ipOffset + 12, pseudo, 0, 8);
        pseudo[9] = packet[ipOffset + 9];
        pseudo[10] = (byte)(l4Length >>> 8);
        pseudo[11] = (byte)l4Length;
        return onesComplementSum(pseudo, 0, 12, 0);
    }

    /**
     * Expected transport checksum of the IPv4 packet at {@code ipOffset}: TCP and UDP over pseudo
     * header and segment, ICMP over the message; a UDP result of 0 is sent as 0xFFFF.
     */
    public static int expectedL4Checksum(final byte[] packet, final int ipOffset)
    {
        final int ihl = ipHeaderLength(packet, ipOffset);
        final int totalLength = field(packet, ipOffset + 2);
        final int l4 = ipOffset + ihl;
        final int l4Length = totalLength - ihl;
        switch (packet[ipOffset + 9])
        {
            case PROTO_TCP:
                return expected(packet, l4, l4Length, l4 + 16, pseudoHeaderSum(packet, ipOffset, l4Length));
            case PROTO_UDP:
            {
                final int udpLength = field(packet, l4 + 4);
                final int c = expected(packet, l4, udpLength, l4 + 6, pseudoHeaderSum(packet, ipOffset, udpLength));
                return c == 0 ? 0xFFFF : c;
            }
            case PROTO_ICMP:
                return expected(packet, l4, l4Length, l4 + 2, 0);
            default:
                throw new IllegalArgumentException("protocol " + packet[ipOffset + 9]);
        }
    }

    /** Offset of the transport checksum field of the IPv4 packet at {@code ipOffset}. */
    public static int l4ChecksumOffset(final byte[] packet, final int ipOffset)
    {
        final int l4 = ipOffset + ipHeaderLength(packet, ipOffset);
        switch (packet[ipOffset + 9])
        {
            case PROTO_TCP: return l4 + 16;
            case PROTO_UDP: return l4 + 6;
            case PROTO_ICMP: return l4 + 2;
            default: throw new IllegalArgumentException("protocol " + packet[ipOffset + 9]);
        }
    }

    public static byte[] copy(final DirectBuffer buffer, final int offset, final int length)
    {
        final byte[] bytes = new byte[length];
        buffer.getBytes(offset, bytes);
        return bytes;
    }
}
