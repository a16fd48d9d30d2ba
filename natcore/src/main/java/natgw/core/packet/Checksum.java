package natgw.core.packet;

import java.nio.ByteOrder;

import org.agrona.DirectBuffer;
import org.agrona.UnsafeAccess;

/**
 * The Internet checksum: RFC 1071 full computation and RFC 1624 incremental update.
 * <p>
 * Full computation is for building packets and for validation; the forwarding path only ever
 * adjusts an existing checksum for the 16-bit words it changed ({@link #adjust}).
 */
public final class Checksum
{
    private static final boolean NATIVE_BIG_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.BIG_ENDIAN;

    private Checksum()
    {
    }

    /**
     * One's complement sum of {@code length} bytes at {@code offset}, added to {@code initial}, not folded
     * and not inverted. Big-endian 16-bit words; an odd trailing byte is padded with zero.
     * <p>
     * Eight bytes per step in native order, one bounds check for the region: the one's complement sum
     * does not depend on byte order (RFC 1071 section 2(B)), so the native sum is folded to 16 bits and
     * byte-swapped once at the end; the tail is summed as big-endian words.
     */
    public static long sum(final DirectBuffer buffer, final int offset, final int length, final long initial)
    {
        buffer.boundsCheck(offset, length);
        final int length8 = length & ~7;
        long sum = initial;
        if (length8 != 0)
        {
            sum += bigEndian(fold(sum8(buffer.byteArray(), buffer.addressOffset() + offset, length8)));
        }
        int i = offset + length8;
        final int end = offset + length;
        if (end - i >= 4)
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

    /** Native-order sum of {@code length8} (a multiple of 8) bytes, as two 32-bit halves a step: not folded. */
    private static long sum8(final byte[] array, final long address, final int length8)
    {
        long wide = 0;
        for (int i = 0; i < length8; i += 8)
        {
            final long v = UnsafeAccess.UNSAFE.getLong(array, address + i);
            wide += (v & 0xFFFF_FFFFL) + (v >>> 32);
        }
        return wide;
    }

    /** Folds a 64-bit one's complement accumulator to 16 bits and inverts it: the value to put on the wire. */
    public static int finish(final long sum)
    {
        return ~fold(sum) & 0xFFFF;
    }

    /** Folds a 64-bit one's complement accumulator to 16 bits (end-around carries; four folds always suffice). */
    private static int fold(final long sum)
    {
        long s = (sum & 0xFFFF_FFFFL) + (sum >>> 32); // < 2^33
        s = (s & 0xFFFF) + (s >>> 16);                 // < 2^18
        s = (s & 0xFFFF) + (s >>> 16);                 // < 2^16 + 4
        return (int)((s & 0xFFFF) + (s >>> 16));       // <= 0xFFFF
    }

    /** A folded native-order sum as the big-endian words' sum (the same bytes, swapped: RFC 1071 section 2(B)). */
    private static int bigEndian(final int folded)
    {
        return NATIVE_BIG_ENDIAN ? folded : (folded & 0xFF) << 8 | folded >>> 8;
    }

    /**
     * True if {@code length} bytes at {@code offset}, with {@code pseudoHeaderSum} ({@link #pseudoHeaderSum},
     * or 0 for none) added, sum to all ones: the region holds its correct checksum. What {@code
     * finish(sum(...)) == 0} tells, for the receive path: the region is summed in native order and folded
     * before the one byte swap (RFC 1071 section 2(B)), the tail read natively too.
     */
    public static boolean isValid(final DirectBuffer buffer, final int offset, final int length, final long pseudoHeaderSum)
    {
        if (offset < 0 || length < 0 || offset > buffer.capacity() - length)
        {
            buffer.boundsCheck(offset, length); // throws, naming the region
        }
        final byte[] array = buffer.byteArray();
        final long address = buffer.addressOffset() + offset;
        final int length8 = length & ~7;
        long wide = sum8(array, address, length8);
        int i = length8;
        if (length - i >= 4)
        {
            wide += UnsafeAccess.UNSAFE.getInt(array, address + i) & 0xFFFF_FFFFL;
            i += 4;
        }
        if (length - i >= 2)
        {
            wide += UnsafeAccess.UNSAFE.getShort(array, address + i) & 0xFFFF;
            i += 2;
        }
        if (i < length)
        {
            // the odd byte is the high byte of a big-endian word padded with zero
            final int last = UnsafeAccess.UNSAFE.getByte(array, address + i) & 0xFF;
            wide += NATIVE_BIG_ENDIAN ? last << 8 : last;
        }
        return fold(bigEndian(fold(wide)) + pseudoHeaderSum) == 0xFFFF;
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
