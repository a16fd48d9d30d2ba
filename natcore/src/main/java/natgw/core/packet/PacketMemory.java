package natgw.core.packet;

import java.nio.ByteOrder;

import org.agrona.UnsafeAccess;

import sun.misc.Unsafe;

/**
 * Big-endian header fields read and written at a buffer's memory, given as Agrona gives it: the buffer's
 * {@code byteArray()} (null off heap) and {@code addressOffset()} plus the field's index. For a hot path
 * that keeps the two in locals, so the compiler reads them once per packet, not once per field. No bounds
 * checks: the caller has checked the packet's region once ({@code boundsCheck}).
 */
public final class PacketMemory
{
    private static final Unsafe UNSAFE = UnsafeAccess.UNSAFE;
    private static final boolean NATIVE_BIG_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.BIG_ENDIAN;

    private PacketMemory()
    {
    }

    /** The unsigned 16-bit field at {@code address}. */
    public static int u16(final Object base, final long address)
    {
        final short value = UNSAFE.getShort(base, address);
        return (NATIVE_BIG_ENDIAN ? value : Short.reverseBytes(value)) & 0xFFFF;
    }

    public static void putU16(final Object base, final long address, final int value)
    {
        UNSAFE.putShort(base, address, NATIVE_BIG_ENDIAN ? (short)value : Short.reverseBytes((short)value));
    }

    public static void putInt(final Object base, final long address, final int value)
    {
        UNSAFE.putInt(base, address, NATIVE_BIG_ENDIAN ? value : Integer.reverseBytes(value));
    }
}
