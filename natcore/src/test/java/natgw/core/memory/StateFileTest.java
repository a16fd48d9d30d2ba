package natgw.core.memory;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StateFileTest
{
    private static final long[] REGIONS = {128, 10_000};
    private static final Map<String, String> OPTIONS = Map.of("identity.boot", "b1", "snat", "192.0.2.10", "conntrack-max", "1000");

    @TempDir
    Path dir;
    private StateFile file;

    @AfterEach
    void close()
    {
        if (file != null)
        {
            file.close();
        }
    }

    private StateFile open(final Map<String, String> options, final boolean fresh)
    {
        if (file != null)
        {
            file.close();
        }
        file = StateFile.open(dir.resolve("natgw0.state"), REGIONS, options, fresh, 42, 7);
        return file;
    }

    private void writeAndReady()
    {
        open(OPTIONS, false).region(1).putLong(9_000, 0xC0FFEE);
        file.ready();
    }

    @Test
    void shouldAttachWithTheRegionsClockAndSeedItWasMadeWith()
    {
        writeAndReady();

        file.close();
        file = StateFile.open(dir.resolve("natgw0.state"), REGIONS, OPTIONS, false, 99, 99);

        assertEquals(StateFile.Origin.ATTACHED, file.origin());
        assertEquals(0xC0FFEE, file.region(1).getLong(9_000));
        assertEquals(42, file.epochNs());
        assertEquals(7, file.seed());
    }

    @Test
    void shouldRefuseOtherOptionsNamingTheDifference()
    {
        writeAndReady();

        final IllegalStateException refused = assertThrows(IllegalStateException.class,
            () -> open(Map.of("identity.boot", "b1", "snat", "192.0.2.11", "conntrack-max", "1000"), false));

        assertTrue(refused.getMessage().contains("snat 192.0.2.10 there, 192.0.2.11 here"), refused.getMessage());
        assertTrue(refused.getMessage().contains("--fresh"), refused.getMessage());
    }

    @Test
    void shouldRefuseOtherRegionLengths()
    {
        writeAndReady();
        file.close();
        file = null;

        final IllegalStateException refused = assertThrows(IllegalStateException.class,
            () -> StateFile.open(dir.resolve("natgw0.state"), new long[] {128, 20_000}, OPTIONS, false, 42, 7));

        assertTrue(refused.getMessage().contains("region 1 is 10000 bytes there, 20000 here"), refused.getMessage());
    }

    private void layoutVersion(final int version) throws Exception
    {
        try (RandomAccessFile raw = new RandomAccessFile(dir.resolve("natgw0.state").toFile(), "rw"))
        {
            raw.seek(8); // the header's layoutVersion, little-endian
            raw.write(new byte[] {(byte)version, 0, 0, 0});
        }
    }

    private int layoutVersion() throws Exception
    {
        try (RandomAccessFile raw = new RandomAccessFile(dir.resolve("natgw0.state").toFile(), "r"))
        {
            raw.seek(8);
            return Integer.reverseBytes(raw.readInt());
        }
    }

    @Test
    void shouldRefuseAFileOfAnotherLayoutVersionNamingBoth() throws Exception
    {
        writeAndReady();
        file.close();
        file = null;
        layoutVersion(StateFile.UPGRADABLE_VERSION - 1);

        final IllegalStateException refused = assertThrows(IllegalStateException.class, () -> open(OPTIONS, false));

        assertTrue(refused.getMessage().contains("layout version " + (StateFile.UPGRADABLE_VERSION - 1) + ", this natgw's is " +
            StateFile.LAYOUT_VERSION), refused.getMessage());
        assertTrue(refused.getMessage().contains("--fresh"), refused.getMessage());
    }

    @Test
    void shouldAttachAFileOfTheUpgradableLayoutAndRaiseItsVersionSoThatAnOlderNatgwRefusesIt() throws Exception
    {
        writeAndReady();
        file.close();
        file = null;
        layoutVersion(StateFile.UPGRADABLE_VERSION);

        open(OPTIONS, false);

        assertEquals(StateFile.Origin.ATTACHED, file.origin());
        assertEquals(0xC0FFEE, file.region(1).getLong(9_000));
        assertEquals(StateFile.LAYOUT_VERSION, layoutVersion());
    }

    @Test
    void shouldStartEmptyWhenAskedFresh()
    {
        writeAndReady();

        open(Map.of("identity.boot", "b1", "snat", "192.0.2.11"), true);

        assertEquals(StateFile.Origin.CREATED, file.origin());
        assertEquals(0, file.region(1).getLong(9_000));
    }

    @Test
    void shouldDiscardTheStateOfAnotherBoot()
    {
        writeAndReady();

        open(Map.of("identity.boot", "b2", "snat", "192.0.2.10", "conntrack-max", "1000"), false);

        assertEquals(StateFile.Origin.DISCARDED, file.origin());
        assertTrue(file.discardReason().contains("boot b1"), file.discardReason());
        assertEquals(0, file.region(1).getLong(9_000));
    }

    @Test
    void shouldDiscardAFileLeftHalfMade()
    {
        open(OPTIONS, false).region(1).putLong(9_000, 0xC0FFEE); // never ready()

        open(OPTIONS, false);

        assertEquals(StateFile.Origin.DISCARDED, file.origin());
        assertEquals(0, file.region(1).getLong(9_000));
    }

    @Test
    void shouldRefuseASecondHolder()
    {
        writeAndReady();

        final IllegalStateException refused = assertThrows(IllegalStateException.class,
            () -> StateFile.open(dir.resolve("natgw0.state"), REGIONS, OPTIONS, false, 42, 7));

        assertTrue(refused.getMessage().contains("in use"), refused.getMessage());
        assertThrows(IllegalStateException.class, () -> StateFile.remove(dir.resolve("natgw0.state")));
    }

    @Test
    void shouldRemoveAFileNobodyHolds()
    {
        writeAndReady();
        file.close();
        file = null;

        assertTrue(StateFile.remove(dir.resolve("natgw0.state")));

        assertFalse(Files.exists(dir.resolve("natgw0.state")));
        assertFalse(StateFile.remove(dir.resolve("natgw0.state")));
    }

    @Test
    void shouldAlignEveryRegionToAPage()
    {
        final UnsafeBuffer region = open(OPTIONS, false).region(1);

        assertEquals(0, region.addressOffset() % 4096);
        assertEquals(10_000, region.capacity());
    }
}
