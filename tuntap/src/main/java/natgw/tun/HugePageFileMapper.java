package natgw.tun;

import java.io.IOException;
import java.lang.ref.Cleaner;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

import org.agrona.concurrent.UnsafeBuffer;

import natgw.core.memory.StateFile;

/**
 * Maps a state file on tmpfs in 2 MiB pages. The conntrack table is read at random, one or two cache lines
 * a packet, over tens of MiB: in 4 KiB pages nearly every lookup also misses the TLB, and in a virtual
 * machine a page walk is a nested one. A shared file mapping gets huge pages only where its address and its
 * file offset are both 2 MiB aligned, which {@link FileChannel#map} cannot ask for; here the whole file is
 * mapped at a 2 MiB boundary, faulted in, and collapsed with {@code MADV_COLLAPSE}, which tmpfs honours
 * whatever {@code shmem_enabled} says (Linux 6.1+). A file elsewhere, or a kernel that refuses, is mapped as
 * {@link StateFile#FILE_CHANNEL} maps it, in small pages: correct, only slower.
 * <p>
 * The mapping lives until every region taken from it is unreachable.
 */
public final class HugePageFileMapper implements StateFile.Mapper
{
    private static final Cleaner CLEANER = Cleaner.create();

    public StateFile.Mapping map(final Path path, final FileChannel channel, final long length) throws IOException
    {
        if (length < HugePageMemory.HUGE_PAGE || !isTmpfs(path))
        {
            return StateFile.FILE_CHANNEL.map(path, channel, length);
        }
        final Native.LibC libc = Native.libc();
        final long base = mapAligned(libc, path, length);
        // advice only: a kernel without THP, MADV_POPULATE_WRITE (5.14) or MADV_COLLAPSE (6.1) leaves small pages
        libc.madvise(base, length, Native.MADV_HUGEPAGE);
        libc.madvise(base, length, Native.MADV_POPULATE_WRITE);
        libc.madvise(base, length, Native.MADV_COLLAPSE);
        final AtomicInteger liveRegions = new AtomicInteger();
        return (offset, regionLength) ->
        {
            if (offset < 0 || regionLength < 0 || offset + regionLength > length)
            {
                throw new IllegalArgumentException("region [" + offset + ", +" + regionLength + ") is outside the " +
                    length + " bytes mapped");
            }
            final UnsafeBuffer region = new UnsafeBuffer(base + offset, regionLength);
            liveRegions.incrementAndGet();
            CLEANER.register(region, () ->
            {
                if (liveRegions.decrementAndGet() == 0)
                {
                    Native.munmap(base, length);
                }
            });
            return region;
        };
    }

    /** Maps the file shared at a 2 MiB aligned address: a reservation one huge page longer, trimmed around it. */
    private static long mapAligned(final Native.LibC libc, final Path path, final long length) throws IOException
    {
        final long span = length + HugePageMemory.HUGE_PAGE;
        final long reserved = Native.mmap(0, span, Native.PROT_NONE,
            Native.MAP_PRIVATE | Native.MAP_ANONYMOUS | Native.MAP_NORESERVE, -1, 0);
        if (reserved == Native.MAP_FAILED)
        {
            throw new IOException("cannot reserve " + span + " bytes of address space for " + path + ": " +
                Native.errnoText(Native.errno()));
        }
        final long base = HugePageMemory.roundUp(reserved);
        final int fd = libc.open(path.toString(), Native.O_RDWR | Native.O_CLOEXEC);
        if (fd < 0)
        {
            final int errno = Native.errno();
            Native.munmap(reserved, span);
            throw new IOException("cannot open " + path + " to map it: " + Native.errnoText(errno));
        }
        final long mapped = Native.mmap(base, length, Native.PROT_READ | Native.PROT_WRITE, Native.MAP_SHARED | Native.MAP_FIXED, fd, 0);
        final int errno = Native.errno();
        libc.close(fd); // the mapping keeps the file
        if (mapped != base)
        {
            Native.munmap(reserved, span);
            throw new IOException("cannot map " + path + ": " + Native.errnoText(errno));
        }
        if (base > reserved)
        {
            Native.munmap(reserved, base - reserved);
        }
        final long end = reserved + span;
        if (end > base + length)
        {
            Native.munmap(base + length, end - (base + length));
        }
        return base;
    }

    /** True if {@code path}'s file system is tmpfs (memory, where MADV_COLLAPSE applies). */
    static boolean isTmpfs(final Path path)
    {
        try
        {
            return "tmpfs".equals(Files.getFileStore(path).type());
        }
        catch (final IOException ex)
        {
            return false;
        }
    }
}
