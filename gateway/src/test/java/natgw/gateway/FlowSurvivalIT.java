package natgw.gateway;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import natgw.gateway.GatewayEndToEndIT.Gateways;
import natgw.tun.lab.Lab;
import natgw.tun.lab.LabProcess;
import natgw.tun.lab.Role;
import natgw.tun.CommandResult;
import natgw.tun.Exec;
import natgw.tun.StateFileLocation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A TCP connection and a UDP flow through natgw while it is killed (SIGKILL, or stopped with SIGTERM) and
 * started again on the same TUN: the new natgw attaches to the state file, and both flows carry on with
 * the mappings they had. The server sees one connection from one pool address and port the whole time
 * (no reset, no new handshake), and one UDP mapping; after SIGKILL nothing from an inside address reaches it
 * in the gap (fail closed), while after SIGTERM the host's own routing is restored until the next run.
 * Each test also prints the time from {@code natgw run} to the first answer of the surviving UDP flow
 * ({@code -Dnatgw.restart.rounds=N} repeats the kill and restart, {@code -Dnatgw.restart.options=...} adds
 * options to the restarted natgw; for docs/BENCHMARKS.md).
 */
@Tag("root")
class FlowSurvivalIT
{
    static final String PREFIX = "ngws" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xFFFF));
    private static final int PORT = 7070;
    private static final int ROUNDS = Integer.getInteger("natgw.restart.rounds", 2);
    /** More options for the restarted natgw (e.g. {@code --warmup-rounds 0}, for the benchmark's twin). */
    private static final String[] RESTART_OPTIONS = System.getProperty("natgw.restart.options", "").isBlank() ? new String[0] :
        System.getProperty("natgw.restart.options").trim().split("\\s+");
    static Lab lab;

    @BeforeAll
    static void up() throws Exception
    {
        Gateways.requireRoot();
        lab = Lab.up(PREFIX, 1);
    }

    @AfterAll
    static void down() throws Exception
    {
        Gateways.closeLab(lab, PREFIX);
    }

    @Test
    void shouldCarryTcpAndUdpOnWithTheSameMappingsAfterKill9() throws Exception
    {
        survive(true);
    }

    @Test
    void shouldCarryTcpAndUdpOnWithTheSameMappingsAfterSigterm() throws Exception
    {
        survive(false);
    }

    @Test
    void shouldRefuseOtherSettingsNamingThemAndStartEmptyWithFresh() throws Exception
    {
        stop(Gateways.start(lab, "reserve"), false);

        final CommandResult refused = lab.exec(Role.GW, Gateways.natgwCommand("run", "--tun", Lab.TUN_NAME, "--inside",
            Lab.INSIDE_CIDR, "--snat", Lab.POOL_ADDR, "--steer", Lab.GW_INSIDE_IF, "--metrics-port", "0", "--conntrack-max", "1000"));

        assertEquals(1, refused.exitCode(), refused.toString());
        assertTrue(refused.stderr().contains("--conntrack-max 262144 there, 1000 here; run with the same settings to keep " +
            "its flows, or with --fresh to start empty"), refused.toString());
        assertFalse(lab.exec(Role.GW, "ip", "link", "show", Lab.TUN_NAME).ok(), "refused before the TUN was made");
        final LabProcess fresh = Gateways.start(lab, "reserve", "--conntrack-max", "1000");
        try
        {
            assertTrue(fresh.output().contains("created (--fresh)"), fresh.tail(10));
        }
        finally
        {
            fresh.stop(10_000);
        }
    }

    private static void survive(final boolean kill9) throws Exception
    {
        LabProcess natgw = Gateways.start(lab, "reserve");
        final LabProcess server = Gateways.peer(lab, Role.SERVER, "flow-server", String.valueOf(PORT));
        final LabProcess client = lab.start(Role.CLIENT, Gateways.peerCommand("flow-client", Lab.SERVER_ADDR, String.valueOf(PORT)),
            null, null);
        try
        {
            final String tcpMapping = field(awaitLine(client, "tcp-first ", 0, 30_000), 3);
            final String udpMapping = field(awaitLine(client, "udp-first ", 0, 30_000), 3);
            assertTrue(tcpMapping.startsWith(Lab.POOL_ADDR + ":"), tcpMapping);
            assertTrue(udpMapping.startsWith(Lab.POOL_ADDR + ":"), udpMapping);
            final List<Long> restartMs = new ArrayList<>();
            for (int round = 0; round < (kill9 ? ROUNDS : 1); round++)
            {
                stop(natgw, kill9);
                assertTrue(Files.exists(stateFile()), "the state file outlives natgw: " + stateFile());
                final int seen = client.lines().size();
                final long launchMs = System.currentTimeMillis();
                natgw = Gateways.startAttaching(lab, "reserve", RESTART_OPTIONS);
                // both flows kept; the flows are looked for rather than the count taken as exact, though the lab's
                // connections of earlier tests were ended (Gateways.start): a third entry would be no failure
                final String table = lab.exec(Role.GW, Gateways.natgwCommand("conntrack", "-L")).stdout();
                if (keptConnections(natgw.output()) < 2 || !keeps(table, "tcp", tcpMapping) || !keeps(table, "udp", udpMapping))
                {
                    fail(natgw.tail(20) + "\nconnections:\n" + table +
                        "mappings:\n" + lab.exec(Role.GW, Gateways.natgwCommand("conntrack", "-M")).stdout() +
                        "client:\n" + client.tail(20) + "\nserver:\n" + server.tail(20));
                }

                final String udp = awaitLine(client, "udp-resumed ", seen, 60_000);
                assertEquals(udpMapping, field(udp, 4), "the UDP flow keeps its external port");
                final String tcp = awaitLine(client, "tcp-resumed ", seen, 60_000);
                assertEquals(tcpMapping, field(tcp, 4), "the server sees the same client address and port");
                restartMs.add(Long.parseLong(field(udp, 1)) - launchMs);
            }
            assertFalse(client.output().contains("tcp-error"), client.tail(20));
            final List<String> seenByServer = server.lines().stream()
                .filter(line -> kill9 || line.equals("ready") || line.startsWith("tcp-") || line.contains(Lab.POOL_ADDR))
                .sorted().toList();
            // after SIGTERM the host's own routing is back until natgw runs again: with ip_forward=1 (as in the
            // lab) inside packets go out untranslated in the gap, so only the pool's sources are compared
            assertEquals(List.of("ready", "tcp-accept " + tcpMapping, "udp-source " + udpMapping).stream().sorted().toList(), seenByServer,
                "one connection, one UDP mapping" + (kill9 ? ", never an inside address (fail closed)" : ""));
            System.out.println("FlowSurvivalIT " + (kill9 ? "kill -9" : "SIGTERM") +
                ": natgw run to the first answer of the surviving UDP flow, ms: " + restartMs);
        }
        finally
        {
            client.stop(2_000);
            server.stop(2_000);
            natgw.stop(10_000);
        }
        final CommandResult cleanup = lab.exec(Role.GW, Gateways.natgwCommand("cleanup", Lab.TUN_NAME));
        assertEquals(0, cleanup.exitCode(), cleanup.toString());
        assertFalse(Files.exists(stateFile()), "natgw cleanup removes the state file: " + cleanup.stdout());
    }

    private static void stop(final LabProcess natgw, final boolean kill9) throws Exception
    {
        if (kill9)
        {
            Exec.run(List.of("kill", "-9", String.valueOf(Gateways.javaPid(lab))));
            natgw.waitFor(60_000);
        }
        else
        {
            // kill(1), not Process.destroy(): destroy also closes our end of its stdout, losing its last words
            Exec.run(List.of("kill", "-TERM", String.valueOf(natgw.pid())));
            natgw.waitFor(30_000);
            assertFalse(natgw.isAlive(), "natgw did not exit within 30 s of SIGTERM");
            assertTrue(natgw.output().contains("host network restored"), natgw.tail(10));
        }
        final long deadline = System.nanoTime() + 30_000_000_000L;
        while (lab.exec(Role.GW, "ip", "link", "show", Lab.TUN_NAME).ok())
        {
            if (System.nanoTime() > deadline)
            {
                fail("the TUN outlived its stopped gateway");
            }
            Thread.sleep(20);
        }
    }

    private static Path stateFile() throws Exception
    {
        final long inode = (Long)Files.getAttribute(Path.of("/run/netns", lab.ns(Role.GW)), "unix:ino");
        return StateFileLocation.directory().resolve(Lab.TUN_NAME + "@netns-" + inode + ".state");
    }

    /** The first line from index {@code from} on that starts with {@code prefix}, waiting up to {@code timeoutMs}. */
    private static String awaitLine(final LabProcess process, final String prefix, final int from, final long timeoutMs)
        throws Exception
    {
        final long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        while (true)
        {
            final List<String> lines = process.lines();
            for (int i = from; i < lines.size(); i++)
            {
                if (lines.get(i).startsWith(prefix))
                {
                    return lines.get(i);
                }
            }
            if (System.nanoTime() > deadline || !process.isAlive())
            {
                fail("no '" + prefix + "' line from " + process.name() + ":\n" + process.tail(20));
            }
            Thread.sleep(20);
        }
    }

    /**
     * Field {@code n} (0-based, space separated) of a client line: {@code KIND-first EPOCH_MS ANSWER...} or
     * {@code KIND-resumed EPOCH_MS GAP_MS ANSWER...}, where a TCP answer is {@code you-are ADDR:PORT N} and a
     * UDP one {@code from ADDR:PORT}.
     */
    private static String field(final String line, final int n)
    {
        return line.split(" ")[n];
    }

    /** N of natgw's "attached: N connections kept" line, or -1 without one. */
    private static int keptConnections(final String output)
    {
        final java.util.regex.Matcher kept = java.util.regex.Pattern.compile("attached: (\\d+) connections kept").matcher(output);
        return kept.find() ? Integer.parseInt(kept.group(1)) : -1;
    }

    /** True if {@code table} (conntrack -L) has a live {@code protocol} connection whose replies go to {@code mapping}. */
    private static boolean keeps(final String table, final String protocol, final String mapping)
    {
        final String[] external = mapping.split(":");
        final String reply = "dst=" + external[0] + " sport=" + PORT + " dport=" + external[1] + " ";
        return table.lines().anyMatch(l -> l.startsWith(protocol + " ") && !l.contains(" CLOSE ") && l.contains(reply));
    }
}
