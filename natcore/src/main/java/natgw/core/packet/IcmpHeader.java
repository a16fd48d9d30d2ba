package natgw.core.packet;

import java.nio.ByteOrder;

import org.agrona.MutableDirectBuffer;

/**
 * Flyweight over an ICMP message (RFC 792). Echo request/reply carry an identifier (the "port" a NAT
 * translates); the error types carry the IP header and first bytes of the packet that caused them,
 * starting at {@link #EMBEDDED_OFFSET}.
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Type      |     Code      |          Checksum             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   Identifier (echo) / unused  |  Sequence (echo) / next MTU   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Data (echo) / Internet Header + 64 bits of Original Data  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 */
public final class IcmpHeader
{
    public static final int HEADER_LENGTH = 8;
    public static final int EMBEDDED_OFFSET = 8;

    public static final int TYPE_OFFSET = 0;
    public static final int CODE_OFFSET = 1;
    public static final int CHECKSUM_OFFSET = 2;
    public static final int IDENTIFIER_OFFSET = 4;
    public static final int SEQUENCE_OFFSET = 6;

    public static final int ECHO_REPLY = 0;
    public static final int DEST_UNREACHABLE = 3;
    public static final int SOURCE_QUENCH = 4;
    public static final int ECHO_REQUEST = 8;
    public static final int TIME_EXCEEDED = 11;
    public static final int PARAMETER_PROBLEM = 12;

    public static final int CODE_HOST_UNREACHABLE = 1;
    public static final int CODE_PORT_UNREACHABLE = 3;
    public static final int CODE_FRAGMENTATION_NEEDED = 4;
    /** RFC 1812 section 5.2.7.1: communication administratively prohibited (a filter refused the packet). */
    public static final int CODE_ADMIN_PROHIBITED = 13;

    private MutableDirectBuffer buffer;
    private int offset;

    public IcmpHeader wrap(final MutableDirectBuffer buffer, final int offset)
    {
        this.buffer = buffer;
        this.offset = offset;
        return this;
    }

    public int offset()
    {
        return offset;
    }

    public int type()
    {
        return buffer.getByte(offset + TYPE_OFFSET) & 0xFF;
    }

    public IcmpHeader type(final int type)
    {
        buffer.putByte(offset + TYPE_OFFSET, (byte)type);
        return this;
    }

    public int code()
    {
        return buffer.getByte(offset + CODE_OFFSET) & 0xFF;
    }

    public IcmpHeader code(final int code)
    {
        buffer.putByte(offset + CODE_OFFSET, (byte)code);
        return this;
    }

    public int checksum()
    {
        return buffer.getShort(offset + CHECKSUM_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF;
    }

    public IcmpHeader checksum(final int checksum)
    {
        buffer.putShort(offset + CHECKSUM_OFFSET, (short)checksum, ByteOrder.BIG_ENDIAN);
        return this;
    }

    public int identifier()
    {
        return buffer.getShort(offset + IDENTIFIER_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF;
    }

    public IcmpHeader identifier(final int id)
    {
        buffer.putShort(offset + IDENTIFIER_OFFSET, (short)id, ByteOrder.BIG_ENDIAN);
        return this;
    }

    public int sequence()
    {
        return buffer.getShort(offset + SEQUENCE_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF;
    }

    public IcmpHeader sequence(final int seq)
    {
        buffer.putShort(offset + SEQUENCE_OFFSET, (short)seq, ByteOrder.BIG_ENDIAN);
        return this;
    }

    /** Next-hop MTU of a "fragmentation needed" message (RFC 1191). */
    public int nextHopMtu()
    {
        return sequence();
    }

    public IcmpHeader nextHopMtu(final int mtu)
    {
        return sequence(mtu);
    }

    public boolean isEcho()
    {
        final int type = type();
        return type == ECHO_REQUEST || type == ECHO_REPLY;
    }

    /** Types that quote the packet that caused them. */
    public boolean isError()
    {
        final int type = type();
        return type == DEST_UNREACHABLE || type == TIME_EXCEEDED || type == PARAMETER_PROBLEM || type == SOURCE_QUENCH;
    }

    public IcmpHeader computeChecksum(final int icmpLength)
    {
        checksum(0);
        checksum(Checksum.compute(buffer, offset, icmpLength));
        return this;
    }

    public boolean isChecksumValid(final int icmpLength)
    {
        return Checksum.isValid(buffer, offset, icmpLength, 0);
    }
}
