package natgw.gateway;

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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * The gateway's namespace is left exactly as natgw found it (every net.* sysctl, route, rule, neighbour, nft
 * rule and link), however natgw ends: SIGTERM, SIGKILL then {@code natgw cleanup}, SIGKILL then a new run
 * stopped with SIGTERM. The namespace starts with values unlike natgw's own (multi-digit proxy_delay, strict
 * and loose reverse-path filters), so a restore that writes natgw's idea of a default shows.
 */
@Tag("root")
class HostRestoreIT
{
    static final String PREFIX = "ngwr" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xFFFF));
    static Lab lab;
    static List<String> baseline;

    @BeforeAll
    static void up() throws Exception
    {
        Gateways.requireRoot();
        lab = Lab.up(PREFIX, 1);
        Exec.run(lab.inNamespace(Role.GW, List.of("sysctl", "-q", "-w",
            "net.ipv4.ip_forward=0",
            "net.ipv4.neigh." + Lab.GW_OUTSIDE_IF + ".proxy_delay=87",
            "net.ipv4.conf.all.rp_filter=1",
            "net.ipv4.conf." + Lab.GW_INSIDE_IF + ".rp_filter=2")), null, 30_000).orThrow();
        Exec.run(lab.inNamespace(Role.GW, List.of("nft", "-f", "-")),
            "table inet host_own {\n  chain input { type filter hook input priority 0; policy accept; }\n}\n",
            30_000).orThrow();
        baseline = NamespaceSnapshot.take(lab, Role.GW);
    }

    @AfterAll
    static void down() throws Exception
    {
        Gateways.closeLab(lab, PREFIX);
    }

    @Test
    void shouldRestoreTheNamespaceExactlyAfterSigterm() throws Exception
    {
        final LabProcess natgw = startAndCarryPing();
        stopWithSigterm(natgw);

        assertRestored("after SIGTERM");
    }

    @Test
    void shouldRestoreTheNamespaceExactlyAfterSigkillAndCleanup() throws Exception
    {
        final LabProcess natgw = startAndCarryPing();
        kill(natgw);
        final CommandResult cleanup = lab.exec(Role.GW, Gateways.natgwCommand("cleanup", Lab.TUN_NAME));
        assertEquals(0, cleanup.exitCode(), cleanup.toString());

        assertRestored("after SIGKILL and natgw cleanup");
    }

    @Test
    void shouldRestoreTheNamespaceExactlyAfterSigkillAndANewRun() throws Exception
    {
        final LabProcess killed = startAndCarryPing();
        kill(killed);
        final LabProcess again = startAndCarryPing();
        stopWithSigterm(again);

        assertRestored("after SIGKILL, a new run and SIGTERM");
    }

    private static LabProcess startAndCarryPing() throws Exception
    {
        final LabProcess natgw = Gateways.start(lab, "reserve");
        assertNotEquals(baseline, NamespaceSnapshot.take(lab, Role.GW), "a running natgw changes the namespace");
        final CommandResult ping = lab.exec(Role.CLIENT, "ping", "-c", "1", "-W", "5", Lab.SERVER_ADDR);
        assertEquals(0, ping.exitCode(), "natgw translates while it runs: " + ping);
        return natgw;
    }

    private static void stopWithSigterm(final LabProcess natgw) throws Exception
    {
        Exec.run(List.of("kill", "-TERM", String.valueOf(natgw.pid())));
        natgw.waitFor(20_000);
        assertFalse(natgw.isAlive(), "natgw did not exit within 20 s of SIGTERM:\n" + natgw.tail(20));
    }

    private static void kill(final LabProcess natgw) throws Exception
    {
        Exec.run(List.of("kill", "-9", String.valueOf(Gateways.javaPid(lab))));
        natgw.waitFor(20_000);
        assertFalse(natgw.isAlive(), "natgw survived SIGKILL");
        final long deadlineNs = System.nanoTime() + 20_000_000_000L;
        while (lab.exec(Role.GW, "ip", "link", "show", Lab.TUN_NAME).ok() && System.nanoTime() < deadlineNs)
        {
            Thread.sleep(20); // the kernel removes the TUN once the dead process's last fd is released
        }
        assertFalse(lab.exec(Role.GW, "ip", "link", "show", Lab.TUN_NAME).ok(), "the TUN outlived its killed gateway");
    }

    private static void assertRestored(final String when) throws Exception
    {
        final List<String> now = NamespaceSnapshot.take(lab, Role.GW);
        assertEquals("", NamespaceSnapshot.diff(baseline, now), "the namespace differs " + when);
        assertEquals(baseline, now, "the namespace differs " + when + " (order or repeated lines)");
    }
}
