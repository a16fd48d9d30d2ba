package natgw.core.packet;

import java.nio.ByteOrder;

import org.agrona.MutableDirectBuffer;

/**
 * Flyweight over a UDP header (RFC 768). A zero checksum means "none" and must stay zero when the
 * packet is rewritten; a computed zero is sent as 0xFFFF.
 * <pre>
 *  0      7 8     15 16    23 24    31
 * +--------+--------+--------+--------+
 * |     Source      |   Destination   |
 * |      Port       |      Port       |
 * +--------+--------+--------+--------+
 * |     Length      |    Checksum     |
 * +--------+--------+--------+--------+
 * </pre>
 */
public final class UdpHeader
{
    public static final int LENGTH = 8;

    public static final int SRC_PORT_OFFSET = 0;
    public static final int DST_PORT_OFFSET = 2;
    public static final int LENGTH_OFFSET = 4;
    public static final int CHECKSUM_OFFSET = 6;

    /** The whole header read as one big-endian long, as the packet path validates it. */
    public static int srcPortOf(final long header)
    {
        return (int)(header >>> 48);
    }

    public static int dstPortOf(final long header)
    {
        return (int)(header >>> 32 & 0xFFFF);
    }

    public static int lengthOf(final long header)
    {
        return (int)(header >>> 16 & 0xFFFF);
    }

    public static int checksumOf(final long header)
    {
        return (int)(header & 0xFFFF);
    }

    private MutableDirectBuffer buffer;
    private int offset;

    public UdpHeader wrap(final MutableDirectBuffer buffer, final int offset)
    {
        this.buffer = buffer;
        this.offset = offset;
        return this;
    }

    public int srcPort()
    {
        return buffer.getShort(offset + SRC_PORT_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF;
    }

    public UdpHeader srcPort(final int port)
    {
        buffer.putShort(offset + SRC_PORT_OFFSET, (short)port, ByteOrder.BIG_ENDIAN);
        return this;
    }

    public int dstPort()
    {
        return buffer.getShort(offset + DST_PORT_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF;
    }

    public UdpHeader dstPort(final int port)
    {
        buffer.putShort(offset + DST_PORT_OFFSET, (short)port, ByteOrder.BIG_ENDIAN);
        return this;
    }

    public int length()
    {
        return buffer.getShort(offset + LENGTH_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF;
    }

    public UdpHeader length(final int length)
    {
        buffer.putShort(offset + LENGTH_OFFSET, (short)length, ByteOrder.BIG_ENDIAN);
        return this;
    }

    public int checksum()
    {
        return buffer.getShort(offset + CHECKSUM_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF;
    }

    public UdpHeader checksum(final int checksum)
    {
        buffer.putShort(offset + CHECKSUM_OFFSET, (short)checksum, ByteOrder.BIG_ENDIAN);
        return this;
    }

    public UdpHeader computeChecksum(final int srcAddress, final int dstAddress)
    {
        final int l4Length = length();
        checksum(0);
        final int c = Checksum.finish(Checksum.sum(
            buffer, offset, l4Length, Checksum.pseudoHeaderSum(srcAddress, dstAddress, Ipv4Header.PROTO_UDP, l4Length)));
        checksum(c == 0 ? 0xFFFF : c);
        return this;
    }

    /** True if the checksum verifies or is absent (zero). */
    public boolean isChecksumValid(final int srcAddress, final int dstAddress)
    {
        if (checksum() == 0)
        {
            return true;
        }
        final int l4Length = length();
        return Checksum.isValid(buffer, offset, l4Length, Checksum.pseudoHeaderSum(srcAddress, dstAddress, Ipv4Header.PROTO_UDP, l4Length));
    }
}
