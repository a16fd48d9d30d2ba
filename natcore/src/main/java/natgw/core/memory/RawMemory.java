package natgw.core.memory;

import org.agrona.UnsafeAccess;
import org.agrona.concurrent.UnsafeBuffer;

import sun.misc.Unsafe;

/**
 * Word access to an off-heap block by absolute address, as {@link UnsafeBuffer} gives it, without the
 * buffer's possible byte array: an access through a buffer may touch the heap as far as the compiler
 * knows, so each store makes it reload every field read before it; an access by address touches raw
 * memory only. No bounds checks: callers compute their offsets from their own layout.
 * <p>
 * Holds the buffer, so the block lives as long as this does.
 */
public final class RawMemory
{
    private static final Unsafe UNSAFE = UnsafeAccess.UNSAFE;

    private final UnsafeBuffer block;
    private final long address;

    /** @throws IllegalArgumentException if {@code block} wraps a heap array rather than off-heap memory. */
    public RawMemory(final UnsafeBuffer block)
    {
        if (block.byteArray() != null)
        {
            throw new IllegalArgumentException("raw memory needs an off-heap block, got a buffer over a heap array");
        }
        this.block = block;
        this.address = block.addressOffset();
    }

    public long addressOffset()
    {
        return address;
    }

    public int capacity()
    {
        return block.capacity();
    }

    public int getInt(final int offset)
    {
        return UNSAFE.getInt(address + offset);
    }

    public long getLong(final int offset)
    {
        return UNSAFE.getLong(address + offset);
    }

    public void putInt(final int offset, final int value)
    {
        UNSAFE.putInt(address + offset, value);
    }

    public void putLong(final int offset, final long value)
    {
        UNSAFE.putLong(address + offset, value);
    }

    public int getIntVolatile(final int offset)
    {
        return UNSAFE.getIntVolatile(null, address + offset);
    }

    public long getLongVolatile(final int offset)
    {
        return UNSAFE.getLongVolatile(null, address + offset);
    }

    public void putIntVolatile(final int offset, final int value)
    {
        UNSAFE.putIntVolatile(null, address + offset, value);
    }

    public void putLongVolatile(final int offset, final long value)
    {
        UNSAFE.putLongVolatile(null, address + offset, value);
    }

    public void putIntOrdered(final int offset, final int value)
    {
        UNSAFE.putOrderedInt(null, address + offset, value);
    }

    public boolean compareAndSetInt(final int offset, final int expected, final int update)
    {
        return UNSAFE.compareAndSwapInt(null, address + offset, expected, update);
    }

    public boolean compareAndSetLong(final int offset, final long expected, final long update)
    {
        return UNSAFE.compareAndSwapLong(null, address + offset, expected, update);
    }

    public int getAndAddInt(final int offset, final int delta)
    {
        return UNSAFE.getAndAddInt(null, address + offset, delta);
    }

    public long getAndAddLong(final int offset, final long delta)
    {
        return UNSAFE.getAndAddLong(null, address + offset, delta);
    }

    public int getAndSetInt(final int offset, final int value)
    {
        return UNSAFE.getAndSetInt(null, address + offset, value);
    }
}
