package natgw.core.memory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.agrona.BitUtil;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A memory-mapped file that holds a gateway's flow state, so that it outlives the process: a header page,
 * then one region per structure, each page aligned. On tmpfs ({@code /run}) it is memory that a new
 * process maps again: stores are never written back to a disk, and a crash loses nothing a thread had
 * stored. One process holds it at a time (an exclusive lock, released by the kernel when it dies).
 * <pre>
 *  header (one page)
 *    0  magic            "natgwst\0"
 *    8  layoutVersion    {@link #LAYOUT_VERSION}: what the regions' bytes mean
 *   12  ready            1 once a fresh file's regions are initialised; 0 while they are being made
 *   16  regionCount
 *   20  optionsLength    bytes of the options text
 *   24  epochNs          the clock reading the regions' times (ms) are relative to (CLOCK_MONOTONIC)
 *   32  seed             the hash key the regions were built with
 *   40  region lengths   8 bytes each, up to {@value #MAX_REGIONS}
 *  128  options text     "name=value" lines, sorted: identity first, then layout and meaning
 * </pre>
 * Options are what must agree for the regions to mean the same to a new process: capacities, the NAT
 * pool, the port range, the services. A difference is refused, naming it; options whose name starts with
 * {@value #IDENTITY_PREFIX} say which clock and namespace the state belongs to, and a difference there
 * (another boot, another network namespace) means no flow in it can still be alive: the file starts empty.
 */
public final class StateFile implements AutoCloseable
{
    public static final int LAYOUT_VERSION = 4;
    /**
     * The older layout a file may have and still be attached, its version then raised to {@link #LAYOUT_VERSION}: 4
     * only gives meaning to bits 3 leaves zero (a TCP connection's closing timestamp in its record's extra word), while
     * a natgw of layout 3 would read those bits of a DNAT connection as its backend, so it must refuse a file of 4.
     */
    public static final int UPGRADABLE_VERSION = 3;
    /** Options about whose clock and namespace the state is: a change discards the state instead of refusing it. */
    public static final String IDENTITY_PREFIX = "identity.";
    public static final int HEADER_LENGTH = 4096;
    public static final int MAX_REGIONS = 10;
    private static final long MAGIC = 0x0074_7377_6774_616EL; // "natgwst\0" little-endian
    private static final int MAGIC_OFFSET = 0;
    private static final int VERSION_OFFSET = 8;
    private static final int READY_OFFSET = 12;
    private static final int REGION_COUNT_OFFSET = 16;
    private static final int OPTIONS_LENGTH_OFFSET = 20;
    private static final int EPOCH_OFFSET = 24;
    private static final int SEED_OFFSET = 32;
    private static final int REGION_LENGTHS_OFFSET = 40;
    private static final int OPTIONS_OFFSET = 128;
    private static final int PAGE = 4096;

    /** How {@link #open} found the file. */
    public enum Origin
    {
        /** There was none, or {@code fresh} was asked: the regions are zeroed. */
        CREATED,
        /** A previous process's state, same layout and options: the regions hold it, to be recovered. */
        ATTACHED,
        /** A previous file that cannot hold live flows (unfinished, another boot or namespace): started empty. */
        DISCARDED
    }

    /** How the file's bytes come into memory. */
    @FunctionalInterface
    public interface Mapper
    {
        /**
         * Maps bytes {@code [0, length)} of the open file, read-write and shared with it; {@code length} is a
         * multiple of the page size and the file is at least that long.
         */
        Mapping map(Path path, FileChannel channel, long length) throws IOException;
    }

    /** A mapped file: views of its bytes. */
    @FunctionalInterface
    public interface Mapping
    {
        /** Bytes {@code [offset, offset + length)} of the file; {@code offset} is page aligned. */
        UnsafeBuffer region(long offset, int length) throws IOException;
    }

    /** Each region in a mapping of its own, in the pages the file system gives ({@link FileChannel#map}). */
    public static final Mapper FILE_CHANNEL = (path, channel, fileLength) -> (offset, length) ->
        new UnsafeBuffer(channel.map(FileChannel.MapMode.READ_WRITE, offset, Math.max(length, 1)), 0, length);

    private final Path path;
    private final FileChannel channel;
    private final FileLock lock;
    private final UnsafeBuffer header;
    private final List<UnsafeBuffer> regions;
    private final Origin origin;
    private final String discardReason;

    private StateFile(
        final Path path, final FileChannel channel, final FileLock lock,
        final List<UnsafeBuffer> regions, final Origin origin, final String discardReason)
    {
        this.path = path;
        this.channel = channel;
        this.lock = lock;
        this.header = regions.get(0);
        this.regions = regions.subList(1, regions.size());
        this.origin = origin;
        this.discardReason = discardReason;
    }

    /**
     * Opens (creating if needed) the state file at {@code path} for regions of {@code regionLengths} bytes.
     * An existing file is attached if its layout and options are {@code options}; one with another identity
     * or left unfinished is started empty, as is any with {@code fresh}.
     *
     * @param epochNs a fresh file's clock base (an attached one keeps its own: {@link #epochNs()}).
     * @param seed    a fresh file's hash key (an attached one keeps its own: {@link #seed()}).
     * @throws IllegalStateException naming the difference if the file's layout or options differ, or naming
     *                               the holder if another process has it open.
     */
    public static StateFile open(
        final Path path, final long[] regionLengths, final Map<String, String> options, final boolean fresh,
        final long epochNs, final long seed)
    {
        return open(path, regionLengths, options, fresh, epochNs, seed, FILE_CHANNEL);
    }

    /** As {@link #open(Path, long[], Map, boolean, long, long)}, its bytes mapped by {@code mapper}. */
    public static StateFile open(
        final Path path, final long[] regionLengths, final Map<String, String> options, final boolean fresh,
        final long epochNs, final long seed, final Mapper mapper)
    {
        if (regionLengths.length > MAX_REGIONS)
        {
            throw new IllegalArgumentException("at most " + MAX_REGIONS + " regions, got " + regionLengths.length);
        }
        final byte[] optionsText = optionsText(options);
        if (OPTIONS_OFFSET + optionsText.length > HEADER_LENGTH)
        {
            throw new IllegalArgumentException("state file options take " + optionsText.length + " bytes; at most " +
                (HEADER_LENGTH - OPTIONS_OFFSET) + " fit its header");
        }
        FileChannel channel = null;
        try
        {
            Files.createDirectories(path.toAbsolutePath().getParent());
            channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            final FileLock lock = tryLock(channel);
            if (lock == null)
            {
                throw new IllegalStateException("state file " + path + " is in use by another natgw; stop it first");
            }
            final long existingLength = channel.size();
            String discardReason = null;
            Origin origin = Origin.CREATED;
            if (!fresh && existingLength >= HEADER_LENGTH)
            {
                final UnsafeBuffer old = new UnsafeBuffer(channel.map(FileChannel.MapMode.READ_ONLY, 0, HEADER_LENGTH));
                discardReason = compare(path, old, regionLengths, options);
                origin = discardReason == null ? Origin.ATTACHED : Origin.DISCARDED;
            }
            else if (!fresh && existingLength > 0)
            {
                discardReason = "its header is incomplete";
                origin = Origin.DISCARDED;
            }
            if (origin != Origin.ATTACHED)
            {
                channel.truncate(0); // zero pages: a tmpfs file is sparse until touched
            }
            final long fileLength = fileLength(regionLengths);
            if (channel.size() < fileLength)
            {
                channel.write(ByteBuffer.wrap(new byte[1]), fileLength - 1); // sparse: the mapping may cover it all
            }
            final Mapping mapping = mapper.map(path, channel, fileLength);
            final List<UnsafeBuffer> regions = new ArrayList<>();
            long offset = 0;
            for (int i = -1; i < regionLengths.length; i++)
            {
                final long length = i < 0 ? HEADER_LENGTH : regionLengths[i];
                regions.add(mapping.region(offset, (int)length));
                offset += BitUtil.align(length, PAGE);
            }
            final StateFile file = new StateFile(path, channel, lock, regions, origin, discardReason);
            if (origin != Origin.ATTACHED)
            {
                file.writeHeader(regionLengths, optionsText, epochNs, seed);
            }
            else
            {
                file.header.putIntVolatile(VERSION_OFFSET, LAYOUT_VERSION); // before anything writes the new layout
            }
            return file;
        }
        catch (final IOException ex)
        {
            closeQuietly(channel);
            throw new UncheckedIOException("cannot open the state file " + path + ": " + ex.getMessage(), ex);
        }
        catch (final RuntimeException ex)
        {
            closeQuietly(channel);
            throw ex;
        }
    }

    /** The header page and every region, each from a page boundary. */
    private static long fileLength(final long[] regionLengths)
    {
        long length = HEADER_LENGTH;
        for (final long regionLength : regionLengths)
        {
            length += BitUtil.align(regionLength, PAGE);
        }
        return length;
    }

    /**
     * Null if a file with header {@code old} can be attached; the reason to start empty if it cannot hold
     * live flows. Throws, naming the difference, if its layout or options differ.
     */
    private static String compare(final Path path, final UnsafeBuffer old, final long[] regionLengths, final Map<String, String> options)
    {
        if (old.getLong(MAGIC_OFFSET) != MAGIC)
        {
            throw new IllegalStateException("state file " + path + " is not a natgw state file; remove it, or run with " +
                "--fresh to overwrite it");
        }
        final int version = old.getInt(VERSION_OFFSET);
        if (version != LAYOUT_VERSION && version != UPGRADABLE_VERSION)
        {
            throw mismatch(path, "layout version " + version + ", this natgw's is " + LAYOUT_VERSION);
        }
        if (old.getIntVolatile(READY_OFFSET) != 1)
        {
            return "it was left half made";
        }
        final Map<String, String> previous = parseOptions(old);
        for (final Map.Entry<String, String> option : options.entrySet())
        {
            final String was = previous.get(option.getKey());
            if (option.getKey().startsWith(IDENTITY_PREFIX) && !option.getValue().equals(was))
            {
                return "it belongs to " + option.getKey().substring(IDENTITY_PREFIX.length()) + " " + was +
                    ", not this one (" + option.getValue() + "): no flow of it can be alive";
            }
        }
        final List<String> differences = new ArrayList<>();
        final TreeMap<String, String> all = new TreeMap<>(previous);
        all.putAll(options);
        for (final String name : all.keySet())
        {
            final String was = previous.get(name);
            final String now = options.get(name);
            if (!name.startsWith(IDENTITY_PREFIX) && (was == null || !was.equals(now)))
            {
                differences.add(name + " " + (was == null ? "(none)" : was) + " there, " + (now == null ? "(none)" : now) + " here");
            }
        }
        if (!differences.isEmpty())
        {
            throw mismatch(path, String.join("; ", differences));
        }
        final int count = old.getInt(REGION_COUNT_OFFSET);
        for (int i = 0; i < Math.max(count, regionLengths.length); i++)
        {
            final long was = i < count ? old.getLong(REGION_LENGTHS_OFFSET + i * 8) : -1;
            final long now = i < regionLengths.length ? regionLengths[i] : -1;
            if (was != now)
            {
                throw mismatch(path, "region " + i + " is " + was + " bytes there, " + now + " here");
            }
        }
        return null;
    }

    private static IllegalStateException mismatch(final Path path, final String difference)
    {
        return new IllegalStateException("state file " + path + " was written by a natgw with other settings: " +
            difference + "; run with the same settings to keep its flows, or with --fresh to start empty");
    }

    private void writeHeader(final long[] regionLengths, final byte[] optionsText, final long epochNs, final long seed)
    {
        header.putInt(VERSION_OFFSET, LAYOUT_VERSION);
        header.putInt(REGION_COUNT_OFFSET, regionLengths.length);
        for (int i = 0; i < regionLengths.length; i++)
        {
            header.putLong(REGION_LENGTHS_OFFSET + i * 8, regionLengths[i]);
        }
        header.putLong(EPOCH_OFFSET, epochNs);
        header.putLong(SEED_OFFSET, seed);
        header.putInt(OPTIONS_LENGTH_OFFSET, optionsText.length);
        header.putBytes(OPTIONS_OFFSET, optionsText);
        header.putLongVolatile(MAGIC_OFFSET, MAGIC);
    }

    /**
     * Marks a fresh file's regions initialised: until then a crash leaves a file that the next open starts
     * empty. The caller initialises its regions first.
     */
    public void ready()
    {
        header.putIntVolatile(READY_OFFSET, 1);
    }

    private static byte[] optionsText(final Map<String, String> options)
    {
        final StringBuilder sb = new StringBuilder();
        for (final Map.Entry<String, String> option : new TreeMap<>(options).entrySet())
        {
            if (option.getKey().indexOf('=') >= 0 || option.getKey().indexOf('\n') >= 0 || option.getValue().indexOf('\n') >= 0)
            {
                throw new IllegalArgumentException("a state file option is one line of name=value, got " + option);
            }
            sb.append(option.getKey()).append('=').append(option.getValue()).append('\n');
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static Map<String, String> parseOptions(final UnsafeBuffer header)
    {
        final int length = Math.max(0, Math.min(header.getInt(OPTIONS_LENGTH_OFFSET), HEADER_LENGTH - OPTIONS_OFFSET));
        final byte[] bytes = new byte[length];
        header.getBytes(OPTIONS_OFFSET, bytes);
        final Map<String, String> options = new TreeMap<>();
        for (final String line : new String(bytes, StandardCharsets.UTF_8).split("\n"))
        {
            final int eq = line.indexOf('=');
            if (eq > 0)
            {
                options.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return options;
    }

    public Path path()
    {
        return path;
    }

    public Origin origin()
    {
        return origin;
    }

    /** Why a previous file was started empty ({@link Origin#DISCARDED}), else null. */
    public String discardReason()
    {
        return discardReason;
    }

    /** Region {@code i} as {@link #open} was given its length: page aligned, zeroed unless attached. */
    public UnsafeBuffer region(final int i)
    {
        return regions.get(i);
    }

    /** The clock reading this state's times are relative to. */
    public long epochNs()
    {
        return header.getLong(EPOCH_OFFSET);
    }

    /** The hash key this state's regions were built with. */
    public long seed()
    {
        return header.getLong(SEED_OFFSET);
    }

    /** Releases the lock and the file; the mappings stay valid while their buffers are reachable. */
    public void close()
    {
        try
        {
            lock.release();
        }
        catch (final IOException ignore)
        {
            // closing the channel releases it too
        }
        closeQuietly(channel);
    }

    /** Removes a state file unless a process holds it; returns false if there was none. */
    public static boolean remove(final Path path)
    {
        if (!Files.exists(path))
        {
            return false;
        }
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.WRITE))
        {
            final FileLock lock = tryLock(channel);
            if (lock == null)
            {
                throw new IllegalStateException("state file " + path + " is in use by a running natgw; stop it first");
            }
            Files.delete(path);
            lock.release();
            return true;
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot remove the state file " + path + ": " + ex.getMessage(), ex);
        }
    }

    /** The lock, or null if a process (this one included) holds it. */
    private static FileLock tryLock(final FileChannel channel) throws IOException
    {
        try
        {
            return channel.tryLock();
        }
        catch (final OverlappingFileLockException ex)
        {
            return null;
        }
    }

    private static void closeQuietly(final FileChannel channel)
    {
        if (channel != null)
        {
            try
            {
                channel.close();
            }
            catch (final IOException ignore)
            {
                // nothing more to release
            }
        }
    }
}
