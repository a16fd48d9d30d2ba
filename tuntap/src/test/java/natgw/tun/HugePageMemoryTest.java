package natgw.tun;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HugePageMemoryTest
{
    private static final int LENGTH = 64 * 1024 * 1024 + 100;

    @Test
    void shouldGiveAZeroedBlockAlignedToAHugePage()
    {
        final UnsafeBuffer block = new HugePageMemory().allocate(LENGTH, 64);
        assertEquals(LENGTH, block.capacity());
        assertEquals(0, block.addressOffset() % HugePageMemory.HUGE_PAGE);
        for (int i = 0; i < LENGTH - 8; i += 4093)
        {
            assertEquals(0, block.getLong(i), "byte " + i);
        }
        block.putLong(LENGTH - 8, -1L);
        assertEquals(-1L, block.getLong(LENGTH - 8));
    }

    @Test
    void shouldBackTheBlockWithHugePagesWhenTheKernelHasThem() throws Exception
    {
        final String mode = HugePageMemory.transparentHugePageMode();
        assertNotEquals("never", mode, "transparent huge pages are off (" +
            "/sys/kernel/mm/transparent_hugepage/enabled is 'never'): natgw then runs in 4 KiB pages, and this test cannot check huge pages");
        final long before = anonHugePageBytes();
        final HugePageMemory memory = new HugePageMemory();
        final UnsafeBuffer block = memory.allocate(LENGTH, 64);
        final long gained = anonHugePageBytes() - before;
        assertTrue(gained >= LENGTH / 2, "THP mode " + mode + ": only " + gained + " of " + LENGTH + " bytes in huge pages");
        final long inBlock = HugePageMemory.hugePageBytes(block);
        assertTrue(inBlock >= LENGTH / 2 && inBlock <= LENGTH, inBlock + " bytes of the block in huge pages");
        assertEquals(inBlock, memory.hugePageBytes());
        assertEquals(0, block.getLong(0));
    }

    @Test
    void shouldFindNoHugePagesInDirectMemoryNeverAdvised()
    {
        final UnsafeBuffer block = natgw.core.memory.OffHeapMemory.DIRECT.allocate(4 * 1024 * 1024, 64);
        final long huge = HugePageMemory.hugePageBytes(block);
        if (HugePageMemory.transparentHugePageMode().equals("madvise"))
        {
            assertEquals(0, huge, "a JVM direct buffer, never advised, in THP mode madvise");
        }
        else
        {
            assertTrue(huge >= 0 && huge <= block.capacity(), huge + " bytes");
        }
    }

    /** The process's AnonHugePages, from smaps_rollup: a count independent of the per-block one under test. */
    private static long anonHugePageBytes() throws java.io.IOException
    {
        for (final String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/smaps_rollup")))
        {
            if (line.startsWith("AnonHugePages:"))
            {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new AssertionError("no AnonHugePages in /proc/self/smaps_rollup");
    }

    @Test
    void shouldRefuseAnAlignmentItCannotGive()
    {
        assertThrows(IllegalArgumentException.class, () -> new HugePageMemory().allocate(4096, 3));
        assertThrows(IllegalArgumentException.class, () -> new HugePageMemory().allocate(4096, 4 * HugePageMemory.HUGE_PAGE));
    }
}
