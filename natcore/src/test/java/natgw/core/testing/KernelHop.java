package natgw.core.testing;

import org.agrona.MutableDirectBuffer;

/**
 * The hop the gateway's kernel takes from a packet each time it forwards it (ip_forward's ip_decrease_ttl),
 * for tests that follow a packet past natgw: what natgw writes to the TUN is forwarded once more before the
 * next router or host sees (and may quote) it. The header checksum is recomputed by {@link ReferenceChecksum}.
 */
public final class KernelHop
{
    private static final int TTL_OFFSET = 8;
    private static final int CHECKSUM_OFFSET = 10;

    private KernelHop()
    {
    }

    /** Forwards the IPv4 packet at {@code ipOffset} once: its TTL less one. */
    public static void take(final MutableDirectBuffer buffer, final int ipOffset)
    {
        final byte[] header = ReferenceChecksum.copy(buffer, ipOffset, (buffer.getByte(ipOffset) & 0x0F) * 4);
        final byte[] forwarded = withTtl(header, (header[TTL_OFFSET] & 0xFF) - 1);
        buffer.putBytes(ipOffset, forwarded);
    }

    /** A copy of the IPv4 packet with {@code ttl}, its header checksum recomputed. */
    public static byte[] withTtl(final byte[] packet, final int ttl)
    {
        if (ttl < 0 || ttl > 255)
        {
            throw new IllegalArgumentException("TTL " + ttl);
        }
        final byte[] copy = packet.clone();
        copy[TTL_OFFSET] = (byte)ttl;
        final int checksum = ReferenceChecksum.expectedIpChecksum(copy, 0);
        copy[CHECKSUM_OFFSET] = (byte)(checksum >>> 8);
        copy[CHECKSUM_OFFSET + 1] = (byte)checksum;
        return copy;
    }

    /** The TTL of the IPv4 packet at {@code ipOffset}. */
    public static int ttl(final byte[] packet, final int ipOffset)
    {
        return packet[ipOffset + TTL_OFFSET] & 0xFF;
    }
}
