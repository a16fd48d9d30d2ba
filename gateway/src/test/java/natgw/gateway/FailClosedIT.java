package natgw.gateway;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import natgw.gateway.GatewayEndToEndIT.Gateways;
import natgw.tun.CommandResult;
import natgw.tun.Exec;
import natgw.tun.lab.Lab;
import natgw.tun.lab.LabProcess;
import natgw.tun.lab.Role;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * What reaches the server while natgw is dead: a gateway killed with SIGKILL leaves its steering rule behind (the
 * next run or natgw cleanup undoes it), and nothing with an inside source address may get through in the
 * meantime. The server counts every packet from the inside subnet in its input hook; the same count with
 * {@code --fail-open} shows the check sees a leak when there is one.
 */
@Tag("root")
class FailClosedIT
{
    static final String PREFIX = "ngwf" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xFFFF));
    private static final Pattern PACKETS = Pattern.compile("counter packets (\\d+)");
    static Lab lab;
    static String baseline;

    @BeforeAll
    static void up() throws Exception
    {
        Gateways.requireRoot();
        lab = Lab.up(PREFIX, 1);
        baseline = Gateways.networkState(lab);
        Exec.run(lab.inNamespace(Role.SERVER, List.of("nft", "-f", "-")), "table ip inside_count {\n" +
            "  chain input { type filter hook input priority 0; policy accept; ip saddr " + Lab.INSIDE_CIDR + " counter; }\n}\n",
            30_000).orThrow();
    }

    @AfterAll
    static void down() throws Exception
    {
        Gateways.closeLab(lab, PREFIX);
    }

    @Test
    void shouldLetNothingFromInsideThroughWhileNatgwIsDead() throws Exception
    {
        final long leaked = insideSourcesAtServerWhileKilled();

        assertEquals(0, leaked, "packets with an inside source reached the server while natgw was dead");
        final CommandResult cleanup = lab.exec(Role.GW, Gateways.natgwCommand("cleanup", Lab.TUN_NAME));
        assertEquals(0, cleanup.exitCode(), cleanup.toString());
        assertEquals(baseline, Gateways.networkState(lab), "natgw cleanup removes the blackhole with the rest");
    }

    @Test
    void shouldLeakWithFailOpenAsDocumented() throws Exception
    {
        final long leaked = insideSourcesAtServerWhileKilled("--fail-open");

        assertTrue(leaked > 0, "with --fail-open the kernel forwards untranslated; the server saw " + leaked);
        final CommandResult cleanup = lab.exec(Role.GW, Gateways.natgwCommand("cleanup", Lab.TUN_NAME));
        assertEquals(0, cleanup.exitCode(), cleanup.toString());
        assertEquals(baseline, Gateways.networkState(lab));
    }

    /** Starts natgw, checks it translates, kills it with SIGKILL, pings through it; returns what the server counted. */
    private static long insideSourcesAtServerWhileKilled(final String... options) throws Exception
    {
        final LabProcess natgw = Gateways.start(lab, "reserve", options);
        try
        {
            final CommandResult through = lab.exec(Role.CLIENT, "ping", "-c", "1", "-W", "5", Lab.SERVER_ADDR);
            assertEquals(0, through.exitCode(), "natgw translates while it runs: " + through);
            final long before = counted();
            Exec.run(List.of("kill", "-9", String.valueOf(Gateways.javaPid(lab))));
            natgw.waitFor(60_000);
            final long deadline = System.nanoTime() + 30_000_000_000L;
            while (lab.exec(Role.GW, "ip", "link", "show", Lab.TUN_NAME).ok())
            {
                if (System.nanoTime() > deadline)
                {
                    fail("the TUN outlived its killed gateway");
                }
                Thread.sleep(20);
            }
            lab.exec(Role.CLIENT, "ping", "-c", "20", "-i", "0.05", "-W", "1", Lab.SERVER_ADDR);
            lab.exec(Role.CLIENT, "bash", "-c", "for i in $(seq 20); do echo x > /dev/udp/" + Lab.SERVER_ADDR + "/9; done");
            return counted() - before;
        }
        finally
        {
            natgw.stop(5_000);
        }
    }

    private static long counted() throws Exception
    {
        final CommandResult list = lab.exec(Role.SERVER, "nft", "list", "table", "ip", "inside_count");
        final Matcher m = PACKETS.matcher(list.stdout());
        if (!m.find())
        {
            fail("no counter in the server's table: " + list);
        }
        return Long.parseLong(m.group(1));
    }
}
