package natgw.tun;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import natgw.tun.testing.TestNetns;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HostNetworkTest
{
    private static final String OUTSIDE = "ngwto0";

    @TempDir
    Path journalDir;

    /** One change of each kind, through {@code dev} (made by {@link #outsideInterface}). */
    static void applyOneOfEach(final HostNetwork host, final String dev)
    {
        host.addRoute("198.51.100.0/24", dev, 0);
        host.addRoute("203.0.113.0/24", dev, 100);
        host.addRule(dev, 100, 1000);
        host.addProxyNeighbour("192.0.2.77", dev);
        host.setSysctl("net.ipv4.ip_forward", "1");
        host.setSysctl("net/ipv4/conf/" + dev + "/proxy_arp", "1");
    }

    @Test
    @Tag("root")
    void shouldRestoreAMultiDigitSysctlExactly() throws Exception
    {
        try (TestNetns ns = TestNetns.create())
        {
            outsideInterface(ns);
            final String key = "net/ipv4/neigh/" + OUTSIDE + "/proxy_delay";
            ns.exec("sysctl", "-qw", "net.ipv4.neigh." + OUTSIDE + ".proxy_delay=80");
            final HostNetwork host = ns.call(() -> HostNetwork.open("ngwt-digits", journalDir));

            host.setSysctl(key, "0");
            assertTrue(host.undoAll());

            // Files.readString of a /proc/sys file reads one byte: "8" was restored where "80" had been
            assertEquals("80", ns.exec("cat", "/proc/sys/" + key).stdout().trim());
        }
    }

    @Test
    @Tag("root")
    void shouldAddEachChangeAndUndoItOnUndoAll() throws Exception
    {
        try (TestNetns ns = TestNetns.create())
        {
            outsideInterface(ns);
            final State before = State.of(ns);
            final HostNetwork host = ns.call(() -> HostNetwork.open("ngwt-add", journalDir));

            applyOneOfEach(host, OUTSIDE); // from the test thread: HostNetwork must still act inside ns

            final State during = State.of(ns);
            assertTrue(during.mainRoutes.contains("198.51.100.0/24 dev " + OUTSIDE), during.mainRoutes);
            assertTrue(during.table100.contains("203.0.113.0/24 dev " + OUTSIDE), during.table100);
            assertTrue(during.rules.contains("1000:\tfrom all iif " + OUTSIDE + " lookup 100"), during.rules);
            assertTrue(during.proxies.contains("192.0.2.77 dev " + OUTSIDE), during.proxies);
            assertEquals("1", during.forwarding);
            assertEquals("1", during.proxyArp);
            final String journal = Files.readString(host.journal());
            assertEquals(6, journal.lines().filter(l -> l.startsWith("undo ")).count(), journal);

            assertTrue(host.undoAll());

            assertEquals(before, State.of(ns));
            assertFalse(Files.exists(host.journal()), "an undone journal is deleted");
        }
    }

    @Test
    @Tag("root")
    void shouldUndoOnceWhenUndoAllIsCalledAgainOrConcurrently() throws Exception
    {
        try (TestNetns ns = TestNetns.create())
        {
            outsideInterface(ns);
            final HostNetwork host = ns.call(() -> HostNetwork.open("ngwt-once", journalDir));
            host.undoOnShutdown();
            host.setSysctl("net.ipv4.ip_forward", "1");
            host.setSysctl("net.ipv4.ip_forward", "0");
            host.setSysctl("net.ipv4.ip_forward", "1");

            final CountDownLatch go = new CountDownLatch(1);
            final List<Thread> threads = new ArrayList<>();
            final boolean[] results = new boolean[4];
            for (int i = 0; i < 4; i++)
            {
                final int index = i;
                final Thread t = new Thread(() ->
                {
                    try
                    {
                        go.await();
                    }
                    catch (final InterruptedException ex)
                    {
                        Thread.currentThread().interrupt();
                    }
                    results[index] = host.undoAll();
                });
                t.start();
                threads.add(t);
            }
            go.countDown();
            for (final Thread t : threads)
            {
                t.join(TimeUnit.SECONDS.toMillis(30));
            }

            assertTrue(results[0] && results[1] && results[2] && results[3]);
            assertEquals("0", State.of(ns).forwarding);
            ns.ip("route", "add", "198.51.100.0/24", "dev", OUTSIDE);
            assertTrue(host.undoAll());
            assertTrue(State.of(ns).mainRoutes.contains("198.51.100.0/24"), "a second undoAll must do nothing");
            assertThrows(IllegalStateException.class, () -> host.addRoute("192.0.2.0/25", OUTSIDE, 0));
        }
    }

    @Test
    @Tag("root")
    void shouldShowTheCommandAndItsStderrAndNotUndoAChangeThatFailed() throws Exception
    {
        try (TestNetns ns = TestNetns.create())
        {
            outsideInterface(ns);
            ns.ip("route", "add", "198.51.100.0/24", "dev", OUTSIDE); // someone else's route
            final HostNetwork host = ns.call(() -> HostNetwork.open("ngwt-fail", journalDir));

            final HostNetworkException ex = assertThrows(
                HostNetworkException.class, () -> host.addRoute("198.51.100.0/24", OUTSIDE, 0));

            assertTrue(ex.getMessage().contains("route add 198.51.100.0/24 dev " + OUTSIDE), ex.getMessage());
            assertTrue(ex.getMessage().contains("File exists"), ex.getMessage());
            assertNotEquals(0, ex.result().exitCode());
            assertTrue(Files.readString(host.journal()).contains("\nvoid 1\n"));

            assertTrue(host.undoAll());
            assertTrue(State.of(ns).mainRoutes.contains("198.51.100.0/24"), "must not undo what it did not do");
        }
    }

    @Test
    @Tag("root")
    void shouldCountAnObjectThatIsAlreadyGoneAsUndone() throws Exception
    {
        try (TestNetns ns = TestNetns.create())
        {
            outsideInterface(ns);
            final HostNetwork host = ns.call(() -> HostNetwork.open("ngwt-gone", journalDir));
            applyOneOfEach(host, OUTSIDE);

            ns.ip("link", "del", OUTSIDE); // takes its routes, proxy entry and per-interface sysctls with it
            ns.ip("rule", "del", "priority", "1000");

            assertTrue(host.undoAll());
            assertEquals("0", State.of(ns).forwarding);
        }
    }

    @Test
    @Tag("root")
    @Timeout(120)
    void shouldRecoverWhatAKilledGatewayLeft() throws Exception
    {
        try (TestNetns ns = TestNetns.create())
        {
            outsideInterface(ns);
            final State before = State.of(ns);
            final Process child = ChildJvm.start(ns, List.of(), "host-network", "ngwt-kill", journalDir.toString(), OUTSIDE);
            try
            {
                ChildJvm.awaitLine(child, ChildJvm.READY);

                final IllegalStateException live = assertThrows(IllegalStateException.class,
                    () -> ns.call(() -> HostNetwork.recoverStale("ngwt-kill", journalDir)));
                assertTrue(live.getMessage().contains("running process"), live.getMessage());
            }
            finally
            {
                ChildJvm.kill(child); // SIGKILL: no shutdown hook runs
            }
            assertNotEquals(before, State.of(ns), "the killed child should have left its changes behind");

            final List<String> report = ns.call(() -> HostNetwork.recoverStale("ngwt-kill", journalDir));

            assertEquals(6, report.size(), report.toString());
            assertTrue(report.stream().allMatch(line -> line.endsWith(": undone")), report.toString());
            assertEquals(before, State.of(ns));
            assertFalse(Files.exists(UndoJournal.journalPath(journalDir, "ngwt-kill", ns.inode())));
            assertEquals(List.of(), ns.call(() -> HostNetwork.recoverStale("ngwt-kill", journalDir)));
        }
    }

    @Test
    @Tag("root")
    @Timeout(120)
    void shouldUndoFromTheShutdownHookOnSigterm() throws Exception
    {
        try (TestNetns ns = TestNetns.create())
        {
            outsideInterface(ns);
            final State before = State.of(ns);
            final Process child = ChildJvm.start(
                ns, List.of(), "host-network", "ngwt-term", journalDir.toString(), OUTSIDE, "shutdown-hook");
            try
            {
                ChildJvm.awaitLine(child, ChildJvm.READY);
                assertNotEquals(before, State.of(ns));

                child.destroy(); // SIGTERM
                assertTrue(child.waitFor(60, TimeUnit.SECONDS));
            }
            finally
            {
                ChildJvm.kill(child);
            }

            assertEquals(before, State.of(ns));
            assertEquals(List.of(), ns.call(() -> HostNetwork.recoverStale("ngwt-term", journalDir)));
        }
    }

    @Test
    @Tag("root")
    void shouldRecoverAtOpenWhatAPreviousRunLeft() throws Exception
    {
        try (TestNetns ns = TestNetns.create())
        {
            outsideInterface(ns);
            ns.ip("route", "add", "198.51.100.0/24", "dev", OUTSIDE);
            writeJournal(ns, "ngwt-reopen", ns.call(UndoJournal::netnsCookie),
                "undo 1 ip route del 198.51.100.0%2F24 dev " + OUTSIDE);

            final HostNetwork host = ns.call(() -> HostNetwork.open("ngwt-reopen", journalDir));
            try
            {
                assertFalse(State.of(ns).mainRoutes.contains("198.51.100.0/24"));
            }
            finally
            {
                host.undoAll();
            }
        }
    }

    @Test
    @Tag("root")
    void shouldDiscardAJournalWrittenInANamespaceThatNoLongerExists() throws Exception
    {
        try (TestNetns ns = TestNetns.create())
        {
            outsideInterface(ns);
            ns.ip("route", "add", "198.51.100.0/24", "dev", OUTSIDE);
            final long cookie = ns.call(UndoJournal::netnsCookie);
            assertNotEquals(0, cookie, "this kernel should have SO_NETNS_COOKIE");
            writeJournal(ns, "ngwt-reused", cookie + 1, "undo 1 ip route del 198.51.100.0%2F24 dev " + OUTSIDE);

            assertEquals(List.of(), ns.call(() -> HostNetwork.recoverStale("ngwt-reused", journalDir)));
            assertTrue(State.of(ns).mainRoutes.contains("198.51.100.0/24"));
        }
    }

    @Test
    @Tag("root")
    void shouldKeepOneJournalPerNamespaceAndRefuseASecondOpenOfTheSameOwner() throws Exception
    {
        try (TestNetns a = TestNetns.create(); TestNetns b = TestNetns.create())
        {
            final HostNetwork inA = a.call(() -> HostNetwork.open("ngwt-same", journalDir));
            final HostNetwork inB = b.call(() -> HostNetwork.open("ngwt-same", journalDir));
            try
            {
                assertEquals(journalDir.resolve("ngwt-same@netns-" + a.inode() + ".journal"), inA.journal());
                assertEquals(journalDir.resolve("ngwt-same@netns-" + b.inode() + ".journal"), inB.journal());
                assertThrows(IllegalStateException.class, () -> a.call(() -> HostNetwork.open("ngwt-same", journalDir)));
                assertThrows(IllegalStateException.class, () -> a.call(() -> HostNetwork.recoverStale("ngwt-same", journalDir)));
            }
            finally
            {
                inA.undoAll();
                inB.undoAll();
            }
        }
    }

    @Test
    @Tag("root")
    void shouldJournalUnderRunNatgwByDefault() throws Exception
    {
        try (TestNetns ns = TestNetns.create())
        {
            final HostNetwork host = ns.call(() -> HostNetwork.open("ngwt-default"));
            try
            {
                assertEquals(Path.of("/run/natgw/ngwt-default@netns-" + ns.inode() + ".journal"), host.journal());
                assertTrue(Files.readString(host.journal()).startsWith("natgw-host-network-journal 1 owner=ngwt-default"));
            }
            finally
            {
                host.undoAll();
            }
            assertFalse(Files.exists(Path.of("/run/natgw/ngwt-default@netns-" + ns.inode() + ".journal")));
        }
    }

    @Test
    @Tag("root")
    void shouldFindTheInterfaceWhoseConnectedSubnetContainsAnAddress() throws Exception
    {
        try (TestNetns ns = TestNetns.create())
        {
            outsideInterface(ns);
            final HostNetwork host = ns.call(() -> HostNetwork.open("ngwt-find", journalDir));
            try
            {
                assertEquals(OUTSIDE, host.outsideInterfaceFor("192.0.2.77"));
                assertEquals("lo", host.outsideInterfaceFor("127.0.0.9"));
                assertNull(host.outsideInterfaceFor("203.0.113.9"));
            }
            finally
            {
                host.undoAll();
            }
        }
    }

    @Test
    void shouldPickTheLongestConnectedPrefixFromIpAddrOutput()
    {
        final String output = String.join("\n",
            "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever",
            "1: lo    inet6 ::1/128 scope host noprefixroute \\       valid_lft forever preferred_lft forever",
            "2: eth0    inet 10.0.0.5/8 brd 10.255.255.255 scope global eth0\\       valid_lft forever",
            "3: veth1@if4    inet 10.1.2.3/24 brd 10.1.2.255 scope global veth1\\       valid_lft forever",
            "5: ppp0    inet 172.16.0.1 peer 172.16.9.0/24 scope global ppp0\\       valid_lft forever",
            "6: eth1    inet6 2001:db8::1/64 scope global \\       valid_lft forever preferred_lft forever");

        assertEquals("veth1", HostNetworkSyntax.interfaceContaining(output, "10.1.2.200"));
        assertEquals("eth0", HostNetworkSyntax.interfaceContaining(output, "10.9.9.9"));
        assertEquals("ppp0", HostNetworkSyntax.interfaceContaining(output, "172.16.9.7"));
        assertEquals("eth1", HostNetworkSyntax.interfaceContaining(output, "2001:db8::42"));
        assertNull(HostNetworkSyntax.interfaceContaining(output, "192.0.2.1"));
    }

    @Test
    void shouldListLinkNamesFromIpLinkOutput()
    {
        final String output = String.join("\n",
            "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\" +
                "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00",
            "7: gi@if6: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000",
            "9: eth0.100@eth0: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN mode DEFAULT group default qlen 1000",
            "");

        assertEquals(List.of("lo", "gi", "eth0.100"), HostNetworkSyntax.linkNames(output));
    }

    @Test
    @Tag("root")
    void shouldNameAMissingInterfaceWhenItsSysctlIsSet() throws Exception
    {
        try (TestNetns ns = TestNetns.create())
        {
            final HostNetwork host = ns.call(() -> HostNetwork.open("ngwt-noif", journalDir));
            try
            {
                final HostNetworkException ex = assertThrows(HostNetworkException.class,
                    () -> host.setSysctl("net.ipv4.conf.ngwtnosuch0.rp_filter", "0"));
                assertEquals("there is no interface ngwtnosuch0 in this network namespace " +
                    "(no /proc/sys/net/ipv4/conf/ngwtnosuch0/rp_filter)", ex.getMessage());
                assertEquals(List.of("lo"), ns.call(HostNetwork::interfaceNames));
            }
            finally
            {
                assertTrue(host.undoAll());
            }
        }
    }

    @Test
    @Tag("root")
    void shouldSayWhyTheJournalCannotBeCreated() throws Exception
    {
        final Path notADirectory = journalDir.resolve("file");
        Files.writeString(notADirectory, "");
        try (TestNetns ns = TestNetns.create())
        {
            final Exception ex = assertThrows(Exception.class,
                () -> ns.call(() -> HostNetwork.open("ngwt-nodir", notADirectory)));
            assertTrue(ex.getMessage().startsWith("cannot create the undo journal " + notADirectory.resolve("ngwt-nodir@netns-")),
                ex.getMessage());
            assertFalse(ex.getMessage().contains("Exception"), ex.getMessage());
        }
    }

    @Test
    void shouldRefuseBadArgumentsBeforeRunningAnything()
    {
        assertThrows(IllegalArgumentException.class, () -> HostNetwork.open("../etc"));
        assertThrows(IllegalArgumentException.class, () -> HostNetworkSyntax.interfaceContaining("", "example.com"));
    }

    private void writeJournal(final TestNetns ns, final String owner, final long cookie, final String... steps)
        throws Exception
    {
        final Path journal = UndoJournal.journalPath(journalDir, owner, ns.inode());
        Files.writeString(journal, "natgw-host-network-journal 1 owner=" + owner + " netns=" + ns.inode() +
            " cookie=" + Long.toUnsignedString(cookie) + " pid=1\n" + String.join("\n", steps) + "\n", StandardCharsets.UTF_8);
    }

    /** A veth pair in {@code ns}: {@value #OUTSIDE} with 192.0.2.1/24, standing for the host's uplink. */
    static void outsideInterface(final TestNetns ns) throws InterruptedException
    {
        ns.ip("link", "add", OUTSIDE, "type", "veth", "peer", "name", "ngwto1");
        ns.ip("addr", "add", "192.0.2.1/24", "dev", OUTSIDE);
        ns.ip("link", "set", OUTSIDE, "up");
        ns.ip("link", "set", "ngwto1", "up");
        awaitCarrier(ns);
    }

    /**
     * The subnet's route was added while the peer was down, flagged linkdown; the kernel's linkwatch work
     * clears the flag a moment after the carrier comes up, later on a loaded machine. A {@link State} taken
     * before that differs from one taken after in that flag alone, so wait for it to settle.
     */
    private static void awaitCarrier(final TestNetns ns) throws InterruptedException
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        String link = "";
        String routes = "";
        while (System.nanoTime() - deadlineNs < 0)
        {
            link = ns.ip("-o", "link", "show", "dev", OUTSIDE);
            routes = ns.ip("route", "show", "dev", OUTSIDE);
            if (link.contains("state UP") && routes.contains("192.0.2.0/24") && !routes.contains("linkdown"))
            {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError(OUTSIDE + " not up with its subnet's route after 30 s: " + link + routes);
    }

    /** What HostNetwork may change in a namespace. */
    record State(String mainRoutes, String table100, String rules, String proxies, String forwarding, String proxyArp)
    {
        static State of(final TestNetns ns)
        {
            return new State(
                ns.ip("route", "show"),
                ns.exec("ip", "route", "show", "table", "100").stdout(),
                ns.ip("rule", "show"),
                ns.ip("neigh", "show", "proxy"),
                ns.exec("cat", "/proc/sys/net/ipv4/ip_forward").stdout().trim(),
                ns.exec("cat", "/proc/sys/net/ipv4/conf/" + OUTSIDE + "/proxy_arp").stdout().trim());
        }
    }
}
