package natgw.perf.lab;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import natgw.tun.CommandResult;
import natgw.tun.Exec;
import natgw.tun.lab.Lab;
import natgw.tun.lab.LabProcess;
import natgw.tun.lab.Privileges;
import natgw.tun.lab.Role;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Tag("root")
class LabTest
{
    private String prefix;

    /** A prefix no other run uses: ngwt + 4 random characters. */
    static String uniquePrefix()
    {
        final String chars = "abcdefghijklmnopqrstuvwxyz0123456789";
        final StringBuilder sb = new StringBuilder("ngwt");
        for (int i = 0; i < 4; i++)
        {
            sb.append(chars.charAt(ThreadLocalRandom.current().nextInt(chars.length())));
        }
        return sb.toString();
    }

    static void requireRoot()
    {
        assertTrue(Privileges.canManageNamespaces(),
            "this test needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN) to build network namespaces; " +
                "run it as root or exclude the 'root' tag");
    }

    @BeforeEach
    void setUp()
    {
        requireRoot();
        prefix = uniquePrefix();
    }

    @AfterEach
    void nothingLeftBehind()
    {
        Lab.down(prefix);
        assertEquals(List.of(), Lab.existingNamespaces(prefix));
    }

    @Test
    void shouldBuildTopologyWhereOnlyNatCanCarryReplies()
    {
        try (Lab lab = Lab.up(prefix, 4))
        {
            final LabStatus status = LabStatus.of(lab.prefix());
            assertTrue(status.up(), status.toText());
            assertEquals(List.of(prefix + "-client", prefix + "-gw", prefix + "-server"), Lab.existingNamespaces(prefix));
            final LabStatus.Interface c0 = status.namespaces().get(0).interfaces().stream()
                .filter(i -> i.name().equals("c0")).findFirst().orElseThrow();
            assertEquals(List.of("10.77.1.2/24", "10.77.1.3/24", "10.77.1.4/24", "10.77.1.5/24"), c0.addresses());
            assertTrue(status.namespaces().get(1).ipForward(), "ip_forward in the gateway");

            assertPings(lab, Role.CLIENT, Lab.GW_INSIDE_ADDR);
            assertPings(lab, Role.GW, Lab.SERVER_ADDR);
            assertPings(lab, Role.CLIENT, Lab.GW_OUTSIDE_ADDR);
            final CommandResult back = lab.exec(Role.SERVER, "ping", "-c1", "-W1", Lab.clientAddress(0));
            assertFalse(back.ok(), "the server must not reach the client network without NAT: " + back.stdout());
            final CommandResult through = lab.exec(Role.CLIENT, "ping", "-c1", "-W1", Lab.SERVER_ADDR);
            assertFalse(through.ok(), "without NAT the server's reply cannot return: " + through.stdout());
        }
        assertEquals(List.of(), Lab.existingNamespaces(prefix));
    }

    @Test
    void shouldStopBackgroundProcessesAndRemoveEverythingOnClose() throws Exception
    {
        final LabProcess sleeper;
        try (Lab lab = Lab.up(prefix, 1))
        {
            sleeper = lab.start(Role.SERVER, List.of("sleep", "600"));
            assertTrue(sleeper.isAlive());
            // ip netns exec enters the namespace a moment after it is started: only then does the pid show
            assertEquals(List.of(String.valueOf(sleeper.pid())), awaitPids(lab.ns(Role.SERVER)));
        }
        assertFalse(sleeper.isAlive());
        assertEquals(List.of(), Lab.existingNamespaces(prefix));
    }

    @Test
    void shouldKillLeftoverProcessesOnDown() throws Exception
    {
        try (Lab lab = Lab.up(prefix, 1))
        {
            lab.detach();
            // a process nobody tracks, as left by a crashed run
            Exec.check("sh", "-c", "ip netns exec " + lab.ns(Role.GW) + " sleep 600 >/dev/null 2>&1 &");
            // the background ip netns exec enters the namespace a moment after sh returns
            assertEquals(1, awaitPids(lab.ns(Role.GW)).size());
        }
        assertEquals(3, Lab.existingNamespaces(prefix).size(), "a detached lab survives close");
        assertEquals(3, Lab.down(prefix).size());
        assertEquals(List.of(), Lab.down(prefix), "down is idempotent");
    }

    @Test
    void shouldRefuseToBuildOverAnExistingLab()
    {
        try (Lab lab = Lab.up(prefix, 1))
        {
            final IllegalStateException e = assertThrows(IllegalStateException.class, () -> Lab.up(prefix, 1));
            assertTrue(e.getMessage().contains("already exists"), e.getMessage());
            assertTrue(LabStatus.of(lab.prefix()).up(), "the refused attempt must not touch the existing lab");
        }
    }

    @Test
    void shouldRebuildOnRequest()
    {
        try (Lab first = Lab.up(prefix, 1))
        {
            first.detach();
        }
        try (Lab second = Lab.up(prefix, 2, true))
        {
            assertEquals(2, second.clientAddresses().size());
            assertPings(second, Role.CLIENT, Lab.GW_INSIDE_ADDR);
        }
    }

    @Test
    void shouldRejectPrefixesThatWouldNotFitInterfaceRules()
    {
        assertThrows(IllegalArgumentException.class, () -> Lab.up("Bad-Prefix", 1));
        assertThrows(IllegalArgumentException.class, () -> Lab.up("ngwtoolongprefix", 1));
    }

    /** The namespace's pids once there is one (10 s deadline; then whatever is there, for the assert to judge). */
    private static List<String> awaitPids(final String netns) throws InterruptedException
    {
        final long deadlineNs = System.nanoTime() + 10_000_000_000L;
        List<String> pids;
        while ((pids = Lab.pids(netns)).isEmpty() && System.nanoTime() < deadlineNs)
        {
            Thread.sleep(10);
        }
        return pids;
    }

    @Test
    void shouldEndTheConnectionsLeftInTheLabAndKeepItsListeners() throws Exception
    {
        try (Lab lab = Lab.up(prefix, 1))
        {
            lab.start(Role.SERVER, List.of("python3", "-c", "import socket, time\n" +
                "s = socket.socket(); s.bind(('127.0.0.1', 9999)); s.listen(); c = s.accept(); time.sleep(120)"));
            awaitSockets(lab, "listening", 1);
            lab.start(Role.SERVER, List.of("python3", "-c", "import socket, time\n" +
                "c = socket.create_connection(('127.0.0.1', 9999)); time.sleep(120)"));
            awaitSockets(lab, "established", 2);

            lab.endConnections();

            assertEquals(0, sockets(lab, "established"), lab.exec(Role.SERVER, "ss", "-tan").stdout());
            assertEquals(1, sockets(lab, "listening"), lab.exec(Role.SERVER, "ss", "-tan").stdout());
        }
    }

    /** TCP sockets of the server's namespace in {@code state} (an ss state filter). */
    private static int sockets(final Lab lab, final String state)
    {
        final CommandResult result = lab.exec(Role.SERVER, "ss", "-tnH", "state", state);
        assertTrue(result.ok(), result.toString());
        return (int)result.stdout().lines().filter(line -> !line.isBlank()).count();
    }

    private static void awaitSockets(final Lab lab, final String state, final int count) throws InterruptedException
    {
        final long deadline = System.nanoTime() + 30_000_000_000L;
        while (sockets(lab, state) != count)
        {
            assertTrue(System.nanoTime() < deadline, "no " + count + " " + state + " sockets in 30 s: " +
                lab.exec(Role.SERVER, "ss", "-tan").stdout());
            Thread.sleep(20);
        }
    }

    private static void assertPings(final Lab lab, final Role from, final String to)
    {
        final CommandResult result = lab.exec(from, "ping", "-c1", "-W2", to);
        assertTrue(result.ok(), from.label() + " -> " + to + ": " + result.stdout() + result.stderr());
    }
}
