package natgw.core.memory;

import java.nio.ByteBuffer;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RawMemoryTest
{
    private final UnsafeBuffer block = new UnsafeBuffer(ByteBuffer.allocateDirect(256));
    private final RawMemory memory = new RawMemory(block);

    @Test
    void shouldRefuseABufferOverAHeapArray()
    {
        final IllegalArgumentException refused =
            assertThrows(IllegalArgumentException.class, () -> new RawMemory(new UnsafeBuffer(new byte[64])));
        assertTrue(refused.getMessage().contains("heap array"), refused.getMessage());
    }

    @Test
    void shouldSeeTheSameWordsAsTheBufferAtEveryOffset()
    {
        memory.putLong(8, 0x0102_0304_0506_0708L);
        memory.putInt(20, 0xCAFE_BABE);
        memory.putLongVolatile(64, -2L);
        memory.putIntVolatile(72, 7);
        memory.putIntOrdered(76, 9);
        assertEquals(0x0102_0304_0506_0708L, block.getLong(8));
        assertEquals(0xCAFE_BABE, block.getInt(20));
        assertEquals(-2L, block.getLong(64));
        assertEquals(7, block.getInt(72));
        assertEquals(9, block.getInt(76));

        block.putLong(128, 42L);
        block.putInt(136, -5);
        assertEquals(42L, memory.getLong(128));
        assertEquals(42L, memory.getLongVolatile(128));
        assertEquals(-5, memory.getInt(136));
        assertEquals(-5, memory.getIntVolatile(136));
        assertEquals(block.addressOffset(), memory.addressOffset());
        assertEquals(256, memory.capacity());
    }

    @Test
    void shouldApplyAtomicOperationsOnce()
    {
        assertTrue(memory.compareAndSetInt(0, 0, 5));
        assertFalse(memory.compareAndSetInt(0, 0, 6));
        assertEquals(5, memory.getAndAddInt(0, 3));
        assertEquals(8, memory.getAndSetInt(0, 1));
        assertEquals(1, block.getInt(0));

        assertTrue(memory.compareAndSetLong(16, 0, 1L << 40));
        assertFalse(memory.compareAndSetLong(16, 0, 1));
        assertEquals(1L << 40, memory.getAndAddLong(16, 2));
        assertEquals((1L << 40) + 2, block.getLong(16));
    }
}
