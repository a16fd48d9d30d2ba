package natgw.core.packet;

import java.nio.ByteOrder;

import org.agrona.MutableDirectBuffer;

/**
 * Flyweight over a TCP header (RFC 9293).
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        Sequence Number                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Acknowledgment Number                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Data |       |C|E|U|A|P|R|S|F|                               |
 * | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Checksum            |         Urgent Pointer        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 */
public final class TcpHeader
{
    public static final int MIN_LENGTH = 20;

    public static final int SRC_PORT_OFFSET = 0;
    public static final int DST_PORT_OFFSET = 2;
    public static final int SEQUENCE_OFFSET = 4;
    public static final int ACK_OFFSET = 8;
    public static final int DATA_OFFSET_OFFSET = 12;
    public static final int FLAGS_OFFSET = 13;
    public static final int WINDOW_OFFSET = 14;
    public static final int CHECKSUM_OFFSET = 16;
    public static final int URGENT_OFFSET = 18;

    public static final int FIN = 0x01;
    public static final int SYN = 0x02;
    public static final int RST = 0x04;
    public static final int PSH = 0x08;
    public static final int ACK = 0x10;

    public static final int OPTION_END = 0;
    public static final int OPTION_NOP = 1;
    public static final int OPTION_TIMESTAMP = 8;
    public static final int TIMESTAMP_OPTION_LENGTH = 10;
    /** {@link #timestampValue()} of a segment without a timestamp option. */
    public static final long NO_TIMESTAMP = -1;

    /**
     * The fixed header read in three loads, as the packet path validates it: {@code word0}, bytes 0 to 7 as one
     * big-endian long (ports, sequence number); {@code word1}, bytes 8 to 15 (acknowledgment number, data
     * offset, flags, window); then checksum and urgent pointer as an int.
     */
    public static final int WORD0_OFFSET = SRC_PORT_OFFSET;
    public static final int WORD1_OFFSET = ACK_OFFSET;

    public static int srcPortOf(final long word0)
    {
        return (int)(word0 >>> 48);
    }

    public static int dstPortOf(final long word0)
    {
        return (int)(word0 >>> 32 & 0xFFFF);
    }

    /** Header length in bytes (data offset * 4). */
    public static int headerLengthOf(final long word1)
    {
        return (int)(word1 >>> 28 & 0xF) << 2;
    }

    public static int flagsOf(final long word1)
    {
        return (int)(word1 >>> 16 & 0xFF);
    }

    private MutableDirectBuffer buffer;
    private int offset;

    public TcpHeader wrap(final MutableDirectBuffer buffer, final int offset)
    {
        this.buffer = buffer;
        this.offset = offset;
        return this;
    }

    public int srcPort()
    {
        return buffer.getShort(offset + SRC_PORT_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF;
    }

    public TcpHeader srcPort(final int port)
    {
        buffer.putShort(offset + SRC_PORT_OFFSET, (short)port, ByteOrder.BIG_ENDIAN);
        return this;
    }

    public int dstPort()
    {
        return buffer.getShort(offset + DST_PORT_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF;
    }

    public TcpHeader dstPort(final int port)
    {
        buffer.putShort(offset + DST_PORT_OFFSET, (short)port, ByteOrder.BIG_ENDIAN);
        return this;
    }

    public int sequence()
    {
        return buffer.getInt(offset + SEQUENCE_OFFSET, ByteOrder.BIG_ENDIAN);
    }

    public TcpHeader sequence(final int seq)
    {
        buffer.putInt(offset + SEQUENCE_OFFSET, seq, ByteOrder.BIG_ENDIAN);
        return this;
    }

    public int ack()
    {
        return buffer.getInt(offset + ACK_OFFSET, ByteOrder.BIG_ENDIAN);
    }

    public TcpHeader ack(final int ack)
    {
        buffer.putInt(offset + ACK_OFFSET, ack, ByteOrder.BIG_ENDIAN);
        return this;
    }

    /** Header length in bytes (data offset * 4). */
    public int headerLength()
    {
        return (buffer.getByte(offset + DATA_OFFSET_OFFSET) & 0xF0) >>> 2;
    }

    public TcpHeader headerLength(final int bytes)
    {
        buffer.putByte(offset + DATA_OFFSET_OFFSET, (byte)(bytes << 2));
        return this;
    }

    public int flags()
    {
        return buffer.getByte(offset + FLAGS_OFFSET) & 0xFF;
    }

    public TcpHeader flags(final int flags)
    {
        buffer.putByte(offset + FLAGS_OFFSET, (byte)flags);
        return this;
    }

    public int window()
    {
        return buffer.getShort(offset + WINDOW_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF;
    }

    public TcpHeader window(final int window)
    {
        buffer.putShort(offset + WINDOW_OFFSET, (short)window, ByteOrder.BIG_ENDIAN);
        return this;
    }

    public int checksum()
    {
        return buffer.getShort(offset + CHECKSUM_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF;
    }

    public TcpHeader checksum(final int checksum)
    {
        buffer.putShort(offset + CHECKSUM_OFFSET, (short)checksum, ByteOrder.BIG_ENDIAN);
        return this;
    }

    /**
     * The TSval of the segment's timestamp option (RFC 7323), unsigned, or {@link #NO_TIMESTAMP}. The options are
     * walked as Linux's {@code tcp_parse_options} walks them: up to the end of the header or an END option, and no
     * further than an option whose length is under 2 or runs past the header; a timestamp option counts only at its
     * length of 10. Needs the header length checked against the packet (validation does).
     */
    public long timestampValue()
    {
        final int end = offset + headerLength();
        int i = offset + MIN_LENGTH;
        while (i < end)
        {
            final int kind = buffer.getByte(i) & 0xFF;
            if (kind == OPTION_END)
            {
                break;
            }
            if (kind == OPTION_NOP)
            {
                i++;
                continue;
            }
            if (i + 1 >= end)
            {
                break;
            }
            final int length = buffer.getByte(i + 1) & 0xFF;
            if (length < 2 || i + length > end)
            {
                break;
            }
            if (kind == OPTION_TIMESTAMP && length == TIMESTAMP_OPTION_LENGTH)
            {
                return buffer.getInt(i + 2, ByteOrder.BIG_ENDIAN) & 0xFFFF_FFFFL;
            }
            i += length;
        }
        return NO_TIMESTAMP;
    }

    /** Computes the checksum in full over the pseudo header, header and payload of {@code l4Length} bytes. */
    public TcpHeader computeChecksum(final int srcAddress, final int dstAddress, final int l4Length)
    {
        checksum(0);
        checksum(Checksum.finish(Checksum.sum(
            buffer, offset, l4Length, Checksum.pseudoHeaderSum(srcAddress, dstAddress, Ipv4Header.PROTO_TCP, l4Length))));
        return this;
    }

    public boolean isChecksumValid(final int srcAddress, final int dstAddress, final int l4Length)
    {
        return Checksum.isValid(buffer, offset, l4Length, Checksum.pseudoHeaderSum(srcAddress, dstAddress, Ipv4Header.PROTO_TCP, l4Length));
    }
}
