package natgw.tun;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import natgw.core.memory.StateFile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HugePageFileMapperTest
{
    private static final Path SHM = Path.of("/dev/shm");
    private static final long[] REGIONS = {4096, 40L * 1024 * 1024 + 100, 8192};

    private Path dir;
    private StateFile file;

    @BeforeEach
    void makeDirectory() throws IOException
    {
        assertTrue(HugePageFileMapper.isTmpfs(SHM), "/dev/shm is not tmpfs here: this test needs a memory file system");
        dir = Files.createTempDirectory(SHM, "natgw-mapper-test");
    }

    @AfterEach
    void removeDirectory() throws IOException
    {
        if (file != null)
        {
            file.close();
        }
        try (var files = Files.list(dir))
        {
            for (final Path p : (Iterable<Path>)files::iterator)
            {
                Files.delete(p);
            }
        }
        Files.delete(dir);
    }

    @Test
    void shouldMapATmpfsStateFileInHugePagesThatTheFileHolds() throws IOException
    {
        final Path path = dir.resolve("ngw0.state");
        file = StateFile.open(path, REGIONS, Map.of("--conntrack-max", "1"), true, 1, 2, new HugePageFileMapper());
        final UnsafeBuffer table = file.region(1);
        assertEquals(REGIONS[1], table.capacity());
        final long huge = HugePageMemory.hugePageBytes(table);
        assertTrue(huge >= 32L * 1024 * 1024, "only " + huge + " bytes of a 40 MiB region in huge pages (Linux " +
            System.getProperty("os.version") + "; MADV_COLLAPSE needs 6.1)");
        table.putLong(0, 0x1122334455667788L);
        table.putLong((int)REGIONS[1] - 8, -7L);
        file.region(2).putInt(8188, 99);

        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ))
        {
            final long tableOffset = StateFile.HEADER_LENGTH + 4096;
            assertEquals(0x1122334455667788L, readLong(channel, tableOffset));
            assertEquals(-7L, readLong(channel, tableOffset + REGIONS[1] - 8));
            final long lastOffset = tableOffset + ((REGIONS[1] + 4095) & -4096);
            final ByteBuffer last = ByteBuffer.allocate(4).order(ByteOrder.nativeOrder());
            channel.read(last, lastOffset + 8188);
            assertEquals(99, last.flip().getInt());
        }
    }

    @Test
    void shouldAttachWhatAnEarlierMappingStored() throws IOException
    {
        final Path path = dir.resolve("ngw0.state");
        file = StateFile.open(path, REGIONS, Map.of("--conntrack-max", "1"), true, 1, 2, new HugePageFileMapper());
        file.region(1).putLong(1024 * 1024, 42L);
        file.ready();
        file.close();

        file = StateFile.open(path, REGIONS, Map.of("--conntrack-max", "1"), false, 5, 6, new HugePageFileMapper());
        assertEquals(StateFile.Origin.ATTACHED, file.origin());
        assertEquals(42L, file.region(1).getLong(1024 * 1024));
        assertEquals(1, file.epochNs());
    }

    @Test
    void shouldRefuseAStateDirectoryOthersMayWriteTo() throws IOException
    {
        final Path open = Files.createDirectory(dir.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        final IOException refused = assertThrows(IOException.class, () -> StateFileLocation.createPrivate(open));
        assertTrue(refused.getMessage().contains(open.toString()), refused.getMessage());

        final Path link = Files.createSymbolicLink(dir.resolve("link"), Files.createDirectory(dir.resolve("target")));
        assertThrows(IOException.class, () -> StateFileLocation.createPrivate(link));
    }

    @Test
    void shouldMakeAStateDirectoryOnlyItsOwnerMayEnter() throws IOException
    {
        final Path made = StateFileLocation.createPrivate(dir.resolve("natgw"));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(made)));
        assertEquals(made, StateFileLocation.createPrivate(made), "an existing private directory is kept");
    }

    private static long readLong(final FileChannel channel, final long position) throws IOException
    {
        final ByteBuffer bytes = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder());
        channel.read(bytes, position);
        return bytes.flip().getLong();
    }
}
