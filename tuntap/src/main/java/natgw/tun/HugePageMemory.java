package natgw.tun;

import java.lang.ref.Cleaner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.agrona.concurrent.UnsafeBuffer;

import natgw.core.memory.OffHeapMemory;

/**
 * Off-heap blocks backed by transparent huge pages: aligned to 2 MiB and advised
 * {@code MADV_HUGEPAGE} before the first touch, so the kernel faults them in as 2 MiB pages
 * (in THP mode {@code madvise} as well as {@code always}). A table of 10^6 connections spans ~27,000
 * 4 KiB pages, far more than the TLB holds, so a lookup may pay a page walk on top of each cache
 * miss; in 2 MiB pages it is ~55 (what that gains is measured in docs/BENCHMARKS.md). If the kernel has none to
 * give, the block is still correct, in small pages. A block is freed when it and its allocator become unreachable.
 */
public final class HugePageMemory implements OffHeapMemory
{
    public static final int HUGE_PAGE = 2 * 1024 * 1024;
    private static final Path THP_MODE = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");
    private static final Cleaner CLEANER = Cleaner.create();

    private final List<UnsafeBuffer> blocks = new CopyOnWriteArrayList<>();

    public UnsafeBuffer allocate(final int length, final int alignment)
    {
        if (alignment > HUGE_PAGE || Integer.bitCount(alignment) != 1)
        {
            throw new IllegalArgumentException("alignment must be a power of two up to 2 MiB, got " + alignment);
        }
        final Native.LibC libc = Native.libc();
        final long size = roundUp(length);
        // glibc serves a block this large from a fresh mapping of its own and does not touch its pages
        final long address = libc.aligned_alloc(HUGE_PAGE, size);
        if (address == 0)
        {
            throw new OutOfMemoryError("cannot allocate " + size + " bytes aligned to 2 MiB: " + Native.errnoText(Native.errno()));
        }
        // advice only: without THP (mode never, or no kernel support) the block stays in small pages
        libc.madvise(address, size, Native.MADV_HUGEPAGE);
        final UnsafeBuffer buffer = new UnsafeBuffer(address, length);
        buffer.setMemory(0, length, (byte)0); // the first touch, after the advice: faults the block in as huge pages
        CLEANER.register(buffer, () -> libc.free(address));
        blocks.add(buffer);
        return buffer;
    }

    /** The kernel's THP mode, the bracketed word of {@code transparent_hugepage/enabled}: always, madvise or never. */
    public static String transparentHugePageMode()
    {
        try
        {
            final String modes = Files.readString(THP_MODE);
            final int open = modes.indexOf('[');
            final int close = modes.indexOf(']', open + 1);
            return open >= 0 && close > open ? modes.substring(open + 1, close) : "unknown";
        }
        catch (final java.io.IOException | RuntimeException ex)
        {
            return "unavailable";
        }
    }

    /** Bytes of the blocks this allocator gave (they live as long as it) that the kernel backs with huge pages now. */
    public long hugePageBytes()
    {
        long total = 0;
        for (final UnsafeBuffer block : blocks)
        {
            total += Math.max(0, hugePageBytes(block));
        }
        return total;
    }

    /**
     * Bytes of {@code block} the kernel backs with huge pages now: the AnonHugePages (private memory) and
     * ShmemPmdMapped or FilePmdMapped (a mapped file) of the mappings of {@code /proc/self/smaps} that hold it (at most its length), or -1 if smaps cannot be read.
     */
    public static long hugePageBytes(final UnsafeBuffer block)
    {
        final long start = block.addressOffset();
        final long end = start + block.capacity();
        try
        {
            long huge = 0;
            boolean inside = false;
            for (final String line : Files.readAllLines(Path.of("/proc/self/smaps")))
            {
                final int dash = line.indexOf('-');
                final int space = line.indexOf(' ');
                if (dash > 0 && space > dash && isHex(line, 0, dash) && isHex(line, dash + 1, space))
                {
                    final long from = Long.parseUnsignedLong(line.substring(0, dash), 16);
                    final long to = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
                    inside = from < end && to > start;
                }
                else if (inside && (line.startsWith("AnonHugePages:") || line.startsWith("ShmemPmdMapped:") ||
                    line.startsWith("FilePmdMapped:")))
                {
                    huge += Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
            return Math.min(huge, block.capacity());
        }
        catch (final java.io.IOException | RuntimeException ex)
        {
            return -1;
        }
    }

    private static boolean isHex(final String text, final int from, final int to)
    {
        for (int i = from; i < to; i++)
        {
            if (Character.digit(text.charAt(i), 16) < 0)
            {
                return false;
            }
        }
        return to > from;
    }

    /** {@code length} rounded up to a whole number of huge pages (an address: up to the next huge-page boundary). */
    static long roundUp(final long length)
    {
        return (length + HUGE_PAGE - 1) & -HUGE_PAGE;
    }
}
