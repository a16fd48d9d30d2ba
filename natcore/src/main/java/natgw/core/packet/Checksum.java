package natgw.core.packet;

import java.nio.ByteOrder;

import org.agrona.DirectBuffer;

/**
 * The Internet checksum: RFC 1071 full computation and RFC 1624 incremental update.
 * <p>
 * Full computation is for building packets and for validation; the forwarding path only ever
 * adjusts an existing checksum for the 16-bit words it changed ({@link #adjust}).
 */
public final class Checksum
{
    private Checksum()
    {
    }

    /**
     * One's complement sum of {@code length} bytes at {@code offset}, added to {@code initial}, not folded
     * and not inverted. Big-endian 16-bit words; an odd trailing byte is padded with zero.
     */
    public static long sum(final DirectBuffer buffer, final int offset, final int length, final long initial)
    {
        long sum = initial;
        int i = offset;
        final int end = offset + length;
        final int end4 = offset + (length & ~3);
        while (i < end4)
        {
            sum += Integer.toUnsignedLong(buffer.getInt(i, ByteOrder.BIG_ENDIAN));
            i += 4;
        }
        if (end - i >= 2)
        {
            sum += (buffer.getByte(i) & 0xFF) << 8 | (buffer.getByte(i + 1) & 0xFF);
            i += 2;
        }
        if (i < end)
        {
            sum += (buffer.getByte(i) & 0xFF) << 8;
        }
        return sum;
    }

    /** Folds a 64-bit one's complement accumulator to 16 bits and inverts it: the value to put on the wire. */
    public static int finish(final long sum)
    {
        long s = sum;
        while ((s >>> 16) != 0)
        {
            s = (s & 0xFFFF) + (s >>> 16);
        }
        return (int)(~s & 0xFFFF);
    }

    /** RFC 1071 checksum of a region: {@code finish(sum(...))}. A region holding a correct checksum yields 0. */
    public static int compute(final DirectBuffer buffer, final int offset, final int length)
    {
        return finish(sum(buffer, offset, length, 0));
    }

    /** One's complement sum of the IPv4 pseudo header for a TCP/UDP checksum (RFC 793, RFC 768). */
    public static long pseudoHeaderSum(final int srcAddress, final int dstAddress, final int protocol, final int l4Length)
    {
        return (srcAddress >>> 16) + (srcAddress & 0xFFFF) + (dstAddress >>> 16) + (dstAddress & 0xFFFF) +
            protocol + l4Length;
    }

    /**
     * RFC 1624 eqn. 3: {@code HC' = ~(~HC + ~m + m')} for one 16-bit word changing from {@code oldWord} to
     * {@code newWord}.
     */
    public static int adjust(final int checksum, final int oldWord, final int newWord)
    {
        int sum = (~checksum & 0xFFFF) + (~oldWord & 0xFFFF) + (newWord & 0xFFFF);
        sum = (sum & 0xFFFF) + (sum >>> 16);
        sum = (sum & 0xFFFF) + (sum >>> 16);
        return ~sum & 0xFFFF;
    }

    /** {@link #adjust} for a 32-bit field (an IPv4 address): two words at once. */
    public static int adjust32(final int checksum, final int oldValue, final int newValue)
    {
        long sum = (~checksum & 0xFFFF) +
            (~oldValue >>> 16 & 0xFFFF) + (~oldValue & 0xFFFF) +
            (newValue >>> 16) + (newValue & 0xFFFF);
        sum = (sum & 0xFFFF) + (sum >>> 16);
        sum = (sum & 0xFFFF) + (sum >>> 16);
        return (int)(~sum & 0xFFFF);
    }

    /**
     * The one's complement difference {@code new - old} of a 32-bit field, to be fed to {@link #applyDelta}:
     * lets one change update several checksums (outer IP, L4, ICMP) with one subtraction each.
     */
    public static int delta32(final int oldValue, final int newValue)
    {
        int sum = (~oldValue >>> 16 & 0xFFFF) + (~oldValue & 0xFFFF) + (newValue >>> 16) + (newValue & 0xFFFF);
        sum = (sum & 0xFFFF) + (sum >>> 16);
        sum = (sum & 0xFFFF) + (sum >>> 16);
        return sum;
    }

    /** The one's complement difference of a 16-bit field. */
    public static int delta16(final int oldWord, final int newWord)
    {
        int sum = (~oldWord & 0xFFFF) + (newWord & 0xFFFF);
        sum = (sum & 0xFFFF) + (sum >>> 16);
        return sum;
    }

    /** Adds two deltas (one's complement). */
    public static int addDelta(final int a, final int b)
    {
        int sum = a + b;
        sum = (sum & 0xFFFF) + (sum >>> 16);
        return (sum & 0xFFFF) + (sum >>> 16);
    }

    /** Applies a delta from {@link #delta32}/{@link #delta16} to a checksum in wire form. */
    public static int applyDelta(final int checksum, final int delta)
    {
        int sum = (~checksum & 0xFFFF) + delta;
        sum = (sum & 0xFFFF) + (sum >>> 16);
        sum = (sum & 0xFFFF) + (sum >>> 16);
        return ~sum & 0xFFFF;
    }
}
