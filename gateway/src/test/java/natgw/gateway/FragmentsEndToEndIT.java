package natgw.gateway;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import natgw.gateway.GatewayEndToEndIT.Gateways;
import natgw.tun.CommandResult;
import natgw.tun.lab.Lab;
import natgw.tun.lab.LabProcess;
import natgw.tun.lab.Role;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * UDP datagrams larger than the MTU (3000 and 20000 bytes), fragmented by the client's stack at MTU 1500, out
 * through natgw (offloads on) to a server that mirrors them back, fragmented by its stack: each comes back
 * equal, the server saw the pool address, and natgw counted the fragments it translated. With one TUN queue,
 * and with two (the queue a fragment lands on follows the TUN's flow table, not the datagram).
 */
@Tag("root")
class FragmentsEndToEndIT
{
    static final String PREFIX = "ngwf" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xFFFF));
    private static final Pattern FRAGMENTS = Pattern.compile("\\bfragments=(\\d+)");
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

    @ParameterizedTest(name = "{0} queue(s)")
    @ValueSource(strings = {"1", "2"})
    void shouldCarryFragmentedDatagramsOutAndBackEqual(final String queues) throws Exception
    {
        final LabProcess natgw = start(queues);
        LabProcess server = null;
        try
        {
            assertTrue(natgw.lines().stream().anyMatch(l -> l.contains("offloads csum")), natgw.tail(5));
            server = Gateways.peer(lab, Role.SERVER, "udp-mirror", "7007");
            final CommandResult result = lab.exec(Role.CLIENT,
                Gateways.peerCommand("udp-big", Lab.SERVER_ADDR, "7007", "3000", "20000", "3000", "20000"));
            assertEquals(0, result.exitCode(), result.toString());
            final List<String> echoed = result.stdout().lines().filter(l -> l.startsWith("echoed ") || l.startsWith("lost ")).toList();
            assertEquals(List.of("echoed 3000", "echoed 20000", "echoed 3000", "echoed 20000"), echoed, result.stdout());
            final LabProcess mirror = server;
            assertTrue(mirror.lines().stream().filter(l -> l.startsWith("from ")).allMatch(l -> l.startsWith("from " + Lab.POOL_ADDR + " ")),
                "the server saw only the pool address: " + mirror.tail(10));

            // 3000 bytes are 3 fragments, 20000 are 14, each way; a datagram natgw had to ask again for adds more
            final CommandResult stats = lab.exec(Role.GW, Gateways.natgwCommand("conntrack", "-S"));
            assertEquals(0, stats.exitCode(), stats.toString());
            long fragments = 0;
            final Matcher m = FRAGMENTS.matcher(stats.stdout());
            while (m.find())
            {
                fragments += Long.parseLong(m.group(1));
            }
            assertTrue(fragments >= 2 * 2 * (3 + 14), "natgw translated the fragments: " + stats.stdout());
        }
        finally
        {
            if (server != null)
            {
                server.stop(1000);
            }
            natgw.stop(10_000);
        }
    }

    private static LabProcess start(final String queues) throws Exception
    {
        final List<String> args = new ArrayList<>(List.of("run", "--fresh", "--tun", Lab.TUN_NAME, "--inside", Lab.INSIDE_CIDR,
            "--snat", Lab.POOL_ADDR, "--steer", Lab.GW_INSIDE_IF, "--queues", queues, "--metrics-port", "0", "--offload", "on"));
        final LabProcess process = lab.start(Role.GW, Gateways.natgwCommand(args.toArray(String[]::new)),
            Path.of("target", "natgw-fragments-" + queues + "-" + System.nanoTime() + ".log"), null);
        if (!process.awaitLine(line -> line.contains("natgw: running"), 60_000))
        {
            process.stop(2000);
            fail("natgw did not start:\n" + process.tail(30));
        }
        return process;
    }
}
