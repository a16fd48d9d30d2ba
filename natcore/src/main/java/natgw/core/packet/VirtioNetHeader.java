package natgw.core.packet;

import java.nio.ByteOrder;

import org.agrona.MutableDirectBuffer;

/**
 * Flyweight over the virtio-net header a TUN device opened with {@code IFF_VNET_HDR} puts in front of every
 * packet ({@code struct virtio_net_hdr}, include/uapi/linux/virtio_net.h). It carries the offloads of the
 * packet behind it: a GSO super-packet (one IP header for up to 64 KiB of TCP or UDP payload, which the
 * kernel cuts into {@code gso_size} segments later) and a checksum left for the device to finish.
 * <pre>
 *  0      7 8     15 16            31
 * +--------+--------+----------------+
 * | flags  |gso_type|    hdr_len     |
 * +--------+--------+----------------+
 * |    gso_size     |   csum_start   |
 * +-----------------+----------------+
 * |   csum_offset   |
 * +-----------------+
 * </pre>
 * The 16-bit fields are in the host's byte order (a legacy virtio header; TUN's default unless
 * TUNSETVNETLE/BE asks otherwise): little-endian on the x86-64 and AArch64 hosts natgw runs on.
 * <p>
 * {@link #NEEDS_CSUM}: the L4 checksum field at {@code csum_start + csum_offset} holds the one's complement
 * sum of the pseudo header, not inverted (Linux's CHECKSUM_PARTIAL); the device adds the bytes from
 * {@code csum_start} on and writes the result. {@link #DATA_VALID}: the kernel has verified the checksum.
 */
public final class VirtioNetHeader
{
    public static final int LENGTH = 10;

    public static final int FLAGS_OFFSET = 0;
    public static final int GSO_TYPE_OFFSET = 1;
    public static final int HDR_LEN_OFFSET = 2;
    public static final int GSO_SIZE_OFFSET = 4;
    public static final int CSUM_START_OFFSET = 6;
    public static final int CSUM_OFFSET_OFFSET = 8;

    public static final int NEEDS_CSUM = 1;
    public static final int DATA_VALID = 2;
    public static final int RSC_INFO = 4;

    public static final int GSO_NONE = 0;
    public static final int GSO_TCPV4 = 1;
    /** UFO: IP fragmentation offload, never asked for by natgw. */
    public static final int GSO_UDP = 3;
    public static final int GSO_TCPV6 = 4;
    /** USO: UDP segmentation (UDP_SEGMENT), Linux 6.2 on TUN. */
    public static final int GSO_UDP_L4 = 5;
    /** Or'ed into a TCP gso_type: the segments carry ECN's CWR as the kernel's TSO_ECN does. */
    public static final int GSO_ECN = 0x80;

    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private MutableDirectBuffer buffer;
    private int offset;

    public VirtioNetHeader wrap(final MutableDirectBuffer buffer, final int offset)
    {
        this.buffer = buffer;
        this.offset = offset;
        return this;
    }

    public int flags()
    {
        return buffer.getByte(offset + FLAGS_OFFSET) & 0xFF;
    }

    public VirtioNetHeader flags(final int flags)
    {
        buffer.putByte(offset + FLAGS_OFFSET, (byte)flags);
        return this;
    }

    public int gsoType()
    {
        return buffer.getByte(offset + GSO_TYPE_OFFSET) & 0xFF;
    }

    public VirtioNetHeader gsoType(final int gsoType)
    {
        buffer.putByte(offset + GSO_TYPE_OFFSET, (byte)gsoType);
        return this;
    }

    public int hdrLen()
    {
        return buffer.getShort(offset + HDR_LEN_OFFSET, ORDER) & 0xFFFF;
    }

    public VirtioNetHeader hdrLen(final int hdrLen)
    {
        buffer.putShort(offset + HDR_LEN_OFFSET, (short)hdrLen, ORDER);
        return this;
    }

    public int gsoSize()
    {
        return buffer.getShort(offset + GSO_SIZE_OFFSET, ORDER) & 0xFFFF;
    }

    public VirtioNetHeader gsoSize(final int gsoSize)
    {
        buffer.putShort(offset + GSO_SIZE_OFFSET, (short)gsoSize, ORDER);
        return this;
    }

    public int csumStart()
    {
        return buffer.getShort(offset + CSUM_START_OFFSET, ORDER) & 0xFFFF;
    }

    public VirtioNetHeader csumStart(final int csumStart)
    {
        buffer.putShort(offset + CSUM_START_OFFSET, (short)csumStart, ORDER);
        return this;
    }

    public int csumOffset()
    {
        return buffer.getShort(offset + CSUM_OFFSET_OFFSET, ORDER) & 0xFFFF;
    }

    public VirtioNetHeader csumOffset(final int csumOffset)
    {
        buffer.putShort(offset + CSUM_OFFSET_OFFSET, (short)csumOffset, ORDER);
        return this;
    }

    /** All zero: a packet complete in itself, no offload (what natgw puts on the packets it builds). */
    public VirtioNetHeader clear()
    {
        buffer.setMemory(offset, LENGTH, (byte)0);
        return this;
    }

    /** The gso_type without the ECN bit. */
    public static int gsoKind(final int gsoType)
    {
        return gsoType & ~GSO_ECN;
    }

    /**
     * The segments a GSO super-packet becomes: its payload of {@code payloadLength} bytes cut into {@code gsoSize}
     * pieces, at least one (a super-packet with no payload is sent as it is).
     */
    public static int segments(final int payloadLength, final int gsoSize)
    {
        return payloadLength <= gsoSize ? 1 : (payloadLength + gsoSize - 1) / gsoSize;
    }
}
