package natgw.core.packet;

import java.nio.ByteOrder;

import org.agrona.MutableDirectBuffer;

/**
 * Flyweight over an IPv4 header (RFC 791) in a reused buffer.
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version|  IHL  |Type of Service|          Total Length         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Identification        |Flags|      Fragment Offset    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Time to Live |    Protocol   |         Header Checksum       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       Source Address                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Destination Address                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Options                    |    Padding    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 * Addresses are {@code int}s in host order of their numeric value (10.0.0.1 = 0x0A000001).
 */
public final class Ipv4Header
{
    public static final int MIN_LENGTH = 20;
    public static final int MAX_LENGTH = 60;

    public static final int VERSION_IHL_OFFSET = 0;
    public static final int TOS_OFFSET = 1;
    public static final int TOTAL_LENGTH_OFFSET = 2;
    public static final int IDENTIFICATION_OFFSET = 4;
    public static final int FLAGS_FRAGMENT_OFFSET = 6;
    public static final int TTL_OFFSET = 8;
    public static final int PROTOCOL_OFFSET = 9;
    public static final int CHECKSUM_OFFSET = 10;
    public static final int SRC_ADDRESS_OFFSET = 12;
    public static final int DST_ADDRESS_OFFSET = 16;

    public static final int FLAG_DF = 0x4000;
    public static final int FLAG_MF = 0x2000;
    public static final int FRAGMENT_OFFSET_MASK = 0x1FFF;

    public static final int PROTO_ICMP = 1;
    public static final int PROTO_TCP = 6;
    public static final int PROTO_UDP = 17;

    /**
     * The fixed header read in three loads, as the packet path validates it: {@code word0}, bytes 0 to 7 as one
     * big-endian long (version, IHL, TOS, total length, identification, flags, fragment offset); {@code word1},
     * bytes 8 to 15 (TTL, protocol, checksum, source address); then the destination address as an int.
     */
    public static final int WORD0_OFFSET = VERSION_IHL_OFFSET;
    public static final int WORD1_OFFSET = TTL_OFFSET;

    public static int versionOf(final long word0)
    {
        return (int)(word0 >>> 60);
    }

    /** Header length in bytes (IHL * 4). */
    public static int headerLengthOf(final long word0)
    {
        return (int)(word0 >>> 56 & 0xF) << 2;
    }

    public static int totalLengthOf(final long word0)
    {
        return (int)(word0 >>> 32 & 0xFFFF);
    }

    /** True for a fragment: more fragments follow, or it is not the first. */
    public static boolean isFragmentOf(final long word0)
    {
        return (word0 & (FLAG_MF | FRAGMENT_OFFSET_MASK)) != 0;
    }

    /** The identification field, which with the addresses and protocol names a fragment's datagram. */
    public static int identificationOf(final long word0)
    {
        return (int)(word0 >>> 16 & 0xFFFF);
    }

    /** The fragment offset in bytes (the field counts 8-byte units). */
    public static int fragmentOffsetOf(final long word0)
    {
        return (int)(word0 & FRAGMENT_OFFSET_MASK) << 3;
    }

    /** True when more fragments follow: the fragment is not its datagram's last. */
    public static boolean moreFragmentsOf(final long word0)
    {
        return (word0 & FLAG_MF) != 0;
    }

    public static int ttlOf(final long word1)
    {
        return (int)(word1 >>> 56);
    }

    public static int protocolOf(final long word1)
    {
        return (int)(word1 >>> 48 & 0xFF);
    }

    public static int srcAddressOf(final long word1)
    {
        return (int)word1;
    }

    private MutableDirectBuffer buffer;
    private int offset;

    public Ipv4Header wrap(final MutableDirectBuffer buffer, final int offset)
    {
        this.buffer = buffer;
        this.offset = offset;
        return this;
    }

    public MutableDirectBuffer buffer()
    {
        return buffer;
    }

    public int offset()
    {
        return offset;
    }

    public int version()
    {
        return (buffer.getByte(offset + VERSION_IHL_OFFSET) & 0xF0) >>> 4;
    }

    /** Header length in bytes (IHL * 4). */
    public int headerLength()
    {
        return (buffer.getByte(offset + VERSION_IHL_OFFSET) & 0x0F) << 2;
    }

    public Ipv4Header versionAndHeaderLength(final int version, final int headerLengthBytes)
    {
        buffer.putByte(offset + VERSION_IHL_OFFSET, (byte)(version << 4 | headerLengthBytes >>> 2));
        return this;
    }

    public int tos()
    {
        return buffer.getByte(offset + TOS_OFFSET) & 0xFF;
    }

    public Ipv4Header tos(final int tos)
    {
        buffer.putByte(offset + TOS_OFFSET, (byte)tos);
        return this;
    }

    public int totalLength()
    {
        return buffer.getShort(offset + TOTAL_LENGTH_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF;
    }

    public Ipv4Header totalLength(final int totalLength)
    {
        buffer.putShort(offset + TOTAL_LENGTH_OFFSET, (short)totalLength, ByteOrder.BIG_ENDIAN);
        return this;
    }

    public int identification()
    {
        return buffer.getShort(offset + IDENTIFICATION_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF;
    }

    public Ipv4Header identification(final int id)
    {
        buffer.putShort(offset + IDENTIFICATION_OFFSET, (short)id, ByteOrder.BIG_ENDIAN);
        return this;
    }

    /** Flags and fragment offset, the 16-bit word as on the wire. */
    public int flagsAndFragmentOffset()
    {
        return buffer.getShort(offset + FLAGS_FRAGMENT_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF;
    }

    public Ipv4Header flagsAndFragmentOffset(final int value)
    {
        buffer.putShort(offset + FLAGS_FRAGMENT_OFFSET, (short)value, ByteOrder.BIG_ENDIAN);
        return this;
    }

    /** True for any fragment: more-fragments set or a non-zero offset. */
    public boolean isFragment()
    {
        return (flagsAndFragmentOffset() & (FLAG_MF | FRAGMENT_OFFSET_MASK)) != 0;
    }

    public int ttl()
    {
        return buffer.getByte(offset + TTL_OFFSET) & 0xFF;
    }

    public Ipv4Header ttl(final int ttl)
    {
        buffer.putByte(offset + TTL_OFFSET, (byte)ttl);
        return this;
    }

    public int protocol()
    {
        return buffer.getByte(offset + PROTOCOL_OFFSET) & 0xFF;
    }

    public Ipv4Header protocol(final int protocol)
    {
        buffer.putByte(offset + PROTOCOL_OFFSET, (byte)protocol);
        return this;
    }

    public int checksum()
    {
        return buffer.getShort(offset + CHECKSUM_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF;
    }

    public Ipv4Header checksum(final int checksum)
    {
        buffer.putShort(offset + CHECKSUM_OFFSET, (short)checksum, ByteOrder.BIG_ENDIAN);
        return this;
    }

    public int srcAddress()
    {
        return buffer.getInt(offset + SRC_ADDRESS_OFFSET, ByteOrder.BIG_ENDIAN);
    }

    public Ipv4Header srcAddress(final int address)
    {
        buffer.putInt(offset + SRC_ADDRESS_OFFSET, address, ByteOrder.BIG_ENDIAN);
        return this;
    }

    public int dstAddress()
    {
        return buffer.getInt(offset + DST_ADDRESS_OFFSET, ByteOrder.BIG_ENDIAN);
    }

    public Ipv4Header dstAddress(final int address)
    {
        buffer.putInt(offset + DST_ADDRESS_OFFSET, address, ByteOrder.BIG_ENDIAN);
        return this;
    }

    /** Recomputes the header checksum in full (building packets only; forwarding uses incremental updates). */
    public Ipv4Header computeChecksum()
    {
        checksum(0);
        checksum(Checksum.compute(buffer, offset, headerLength()));
        return this;
    }

    /** True if the header checksum verifies. */
    public boolean isChecksumValid()
    {
        return Checksum.isValid(buffer, offset, headerLength(), 0);
    }

    /** Offset of the transport header in the buffer. */
    public int payloadOffset()
    {
        return offset + headerLength();
    }

    public int payloadLength()
    {
        return totalLength() - headerLength();
    }
}
