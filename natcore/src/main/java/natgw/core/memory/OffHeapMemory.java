package natgw.core.memory;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Where large off-heap structures get their memory. The table asks for one zeroed block and keeps it
 * for its lifetime; the platform decides how it is backed (plain direct memory here, huge pages in the
 * gateway, where a table larger than the TLB's reach would otherwise pay a page walk on most lookups).
 */
@FunctionalInterface
public interface OffHeapMemory
{
    /** Direct memory from the JVM's allocator, aligned as asked. */
    OffHeapMemory DIRECT = (length, alignment) -> new UnsafeBuffer(BufferUtil.allocateDirectAligned(length, alignment));

    /**
     * A zeroed block of {@code length} bytes whose address is a multiple of {@code alignment} (a power of
     * two), alive as long as the returned buffer is reachable.
     */
    UnsafeBuffer allocate(int length, int alignment);
}
