package natgw.tun.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import natgw.tun.ChildJvm;
import natgw.tun.Exec;
import natgw.tun.Netns;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Tag("root")
class TestNetnsTest
{
    @BeforeAll
    static void requireRoot()
    {
        TestNetns.ensureAvailable();
    }

    @Test
    void shouldCreatePrefixedNamespaceAndDeleteItOnClose()
    {
        final String name;
        try (TestNetns ns = TestNetns.create())
        {
            name = ns.name();
            assertTrue(name.startsWith(TestNetns.PREFIX), name);
            assertTrue(Files.exists(Path.of("/run/netns", name)));
            assertTrue(ns.ip("link", "show", "lo").contains("UP"), "loopback should be up");
        }
        assertFalse(Files.exists(Path.of("/run/netns", name)));
    }

    @Test
    void shouldRunTasksAndTheirChildProcessesInsideTheNamespace() throws Exception
    {
        try (TestNetns ns = TestNetns.create())
        {
            final long inside = ns.inode();
            final String stat = Exec.run(List.of("stat", "-L", "-c", "%i", "/run/netns/" + ns.name())).stdout().trim();

            assertNotEquals(Netns.currentInode(), inside, "the caller's thread must stay where it was");
            assertEquals(Long.parseLong(stat), inside);
            assertEquals(stat, ns.call(() -> Exec.run(List.of("stat", "-L", "-c", "%i", "/proc/self/ns/net")).stdout().trim()));
            assertEquals(stat, ns.exec("stat", "-L", "-c", "%i", "/proc/self/ns/net").stdout().trim());
        }
    }

    @Test
    void shouldSeeTheNamespacesOwnSysctlsFromATaskInside() throws Exception
    {
        try (TestNetns ns = TestNetns.create())
        {
            final Path forwarding = Path.of("/proc/sys/net/ipv4/conf/lo/forwarding");
            ns.run(() -> Files.writeString(forwarding, "1"));

            assertEquals("1", ns.exec("cat", forwarding.toString()).stdout().trim());
            assertEquals("1", ns.call(() -> Files.readString(forwarding).trim()));
        }
    }

    @Test
    void shouldRethrowWhatTheTaskThrew()
    {
        try (TestNetns ns = TestNetns.create())
        {
            final IllegalStateException ex = assertThrows(IllegalStateException.class, () -> ns.run(() ->
            {
                throw new IllegalStateException("boom");
            }));
            assertEquals("boom", ex.getMessage());
        }
    }

    @Test
    void shouldSweepNamespacesLeftByDeadProcesses() throws Exception
    {
        final Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        final String stale = TestNetns.PREFIX + gone.pid() + "-1-beef";
        assertTrue(Exec.ip(List.of("netns", "add", stale)).ok());
        try
        {
            TestNetns.sweepStale();

            assertFalse(Files.exists(Path.of("/run/netns", stale)));
        }
        finally
        {
            Exec.ip(List.of("netns", "del", stale));
        }
    }

    @Test
    void shouldFailLoudlyNamingWhatIsMissingWhenRunWithoutCapabilities() throws Exception
    {
        try (TestNetns ns = TestNetns.create())
        {
            final Process child = ChildJvm.start(ns,
                List.of("setpriv", "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all"), "ensure-available");
            try
            {
                final String line = ChildJvm.awaitLine(child, "UNAVAILABLE");

                assertTrue(line.contains("tests tagged \"root\" cannot run here"), line);
                assertTrue(line.contains("needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)"), line);
                assertTrue(line.contains("-Dsurefire.excludedGroups=root"), line);
            }
            finally
            {
                ChildJvm.kill(child);
            }
        }
    }

    @Test
    void shouldNotSweepNamespacesOfLiveProcesses()
    {
        try (TestNetns ns = TestNetns.create())
        {
            TestNetns.sweepStale();

            assertTrue(Files.exists(Path.of("/run/netns", ns.name())));
        }
    }
}
