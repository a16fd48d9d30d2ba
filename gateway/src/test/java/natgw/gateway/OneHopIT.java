package natgw.gateway;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import natgw.gateway.GatewayEndToEndIT.Gateways;
import natgw.tun.CommandResult;
import natgw.tun.Exec;
import natgw.tun.lab.Lab;
import natgw.tun.lab.LabProcess;
import natgw.tun.lab.Role;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The gateway is one hop and its own ICMP reaches the client, seen with the tools and sockets a user has:
 * traceroute and tracepath through natgw print what they print through the kernel's nftables masquerade on the
 * same lab (measured first, before natgw starts), a datagram sent with TTL 2 reaches the server, one sent with
 * TTL 1 is answered with Time Exceeded, and with a narrow outside link the client learns its MTU from the
 * gateway's Fragmentation Needed, so a TCP upload over it completes (no path-MTU black hole).
 * <p>
 * The narrow link is the gateway's end of the outside veth at 1400 bytes; the server's end keeps 1500, so the
 * server offers an MSS of 1460 and only path MTU discovery can fit the client's segments (an upload: the server
 * sends nothing large back). ICMP rate limits are off in the lab: this test counts answers, not their rate.
 */
@Tag("root")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OneHopIT
{
    static final String PREFIX = "ngwh" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xFFFF));
    static final List<String> TOOLS = List.of("traceroute", "tracepath", "python3", "iperf3", "nft", "conntrack");
    static final String ECHO_PORT = "7007";
    static final int NARROW_MTU = 1400;
    static Lab lab;
    static LabProcess echo;
    static LabProcess natgw;
    static List<String> kernelHops;
    static String kernelPath;

    @BeforeAll
    static void up() throws Exception
    {
        Gateways.requireRoot();
        final List<String> missing = TOOLS.stream().filter(tool -> !Exec.onPath(tool)).toList();
        if (!missing.isEmpty())
        {
            fail("OneHopIT needs " + String.join(", ", missing) +
                " (apt-get install traceroute iputils-tracepath python3 iperf3 nftables conntrack)");
        }
        lab = Lab.up(PREFIX, 1);
        for (final Role role : List.of(Role.GW, Role.SERVER))
        {
            lab.exec(role, "sysctl", "-q", "-w", "net.ipv4.icmp_ratelimit=0").orThrow();
        }
        echo = Gateways.peer(lab, Role.SERVER, "udp-echo", ECHO_PORT);

        Exec.run(lab.inNamespace(Role.GW, List.of("nft", "-f", "-")),
            "table ip onehop {\n" +
            "  chain postrouting {\n" +
            "    type nat hook postrouting priority srcnat; policy accept;\n" +
            "    ip saddr " + Lab.INSIDE_CIDR + " oifname \"" + Lab.GW_OUTSIDE_IF + "\" masquerade\n" +
            "  }\n" +
            "}\n", 30_000).orThrow();
        kernelHops = hops();
        outsideLinkMtu(NARROW_MTU);
        kernelPath = tracepathSummary();
        outsideLinkMtu(1500);
        lab.exec(Role.GW, "nft", "delete", "table", "ip", "onehop").orThrow();
        lab.exec(Role.GW, "conntrack", "-F");

        natgw = Gateways.start(lab, "reserve");
    }

    @AfterAll
    static void down() throws Exception
    {
        try
        {
            if (echo != null)
            {
                echo.stop(1000);
            }
        }
        finally
        {
            Gateways.stopAndCloseLab(natgw, lab, PREFIX);
        }
    }

    @Test
    @Order(1)
    void shouldListTheSameHopsAsTheKernelsMasquerade() throws Exception
    {
        assertEquals(List.of(Lab.GW_INSIDE_ADDR, Lab.SERVER_ADDR), kernelHops, "the kernel's masquerade: one hop");
        assertEquals(kernelHops, hops(), "traceroute through natgw");
    }

    @Test
    @Order(2)
    void shouldCarryADatagramSentWithTtlTwoToTheServer() throws Exception
    {
        assertEquals("reply from " + Lab.POOL_ADDR, probe(2, 20, false).get(0).replaceFirst(":\\d+$", ""));
    }

    @Test
    @Order(3)
    void shouldAnswerADatagramSentWithTtlOneWithTimeExceededFromTheGateway() throws Exception
    {
        assertEquals("icmp type=11 code=0 info=0 from=" + Lab.GW_INSIDE_ADDR, probe(1, 20, false).get(0));
    }

    @Test
    @Order(4)
    void shouldTellTheClientTheOutsideLinksMtuAsTheKernelsMasqueradeDoes() throws Exception
    {
        outsideLinkMtu(NARROW_MTU);
        final List<String> tooBig = probe(64, NARROW_MTU + 72, true);
        assertTrue(tooBig.get(0).startsWith("icmp type=3 code=4 info=" + NARROW_MTU + " "),
            "a don't-fragment datagram of 1500 bytes is answered with Fragmentation Needed, MTU 1400: " + tooBig);
        assertEquals("mtu " + NARROW_MTU, tooBig.get(1), "the client's kernel took the MTU");
        final List<String> fits = probe(64, NARROW_MTU - 28, true);
        assertTrue(fits.get(0).startsWith("reply from " + Lab.POOL_ADDR + ":"), "one that fits gets through: " + fits);

        assertTrue(kernelPath.contains("pmtu " + NARROW_MTU), "the kernel's masquerade: " + kernelPath);
        assertEquals(kernelPath, tracepathSummary(), "tracepath through natgw");
    }

    @Test
    @Order(5)
    void shouldCompleteATcpUploadOverTheNarrowLink() throws Exception
    {
        outsideLinkMtu(NARROW_MTU);
        try (LabProcess server = lab.start(Role.SERVER, List.of("iperf3", "-s", "-1", "--forceflush", "-p", "5211")))
        {
            assertTrue(server.awaitLine(line -> line.contains("Server listening"), 20_000), server.output());
            lab.exec(Role.CLIENT, "ip", "route", "flush", "cache").orThrow();
            final CommandResult upload = lab.exec(Role.CLIENT,
                "timeout", "45", "iperf3", "-c", Lab.SERVER_ADDR, "-p", "5211", "-n", "8M", "--connect-timeout", "10000");
            assertEquals(0, upload.exitCode(), "8 MiB up over a 1400-byte link, in segments the server's MSS allows " +
                "but the link does not (a black hole hangs until the timeout):\n" + upload);
            assertTrue(upload.stdout().contains("receiver"), upload.stdout());
        }
        final CommandResult route = lab.exec(Role.CLIENT, "ip", "route", "get", Lab.SERVER_ADDR);
        assertTrue(route.stdout().contains("mtu " + NARROW_MTU), "the client learnt the path MTU: " + route.stdout());
    }

    /** The hop addresses traceroute lists from the client to the server, one probe a hop, "*" for none. */
    private static List<String> hops()
    {
        lab.exec(Role.CLIENT, "ip", "route", "flush", "cache").orThrow();
        final CommandResult trace = lab.exec(Role.CLIENT, "traceroute", "-n", "-q", "1", "-N", "1", "-w", "5", "-m", "5",
            Lab.SERVER_ADDR);
        assertEquals(0, trace.exitCode(), trace.toString());
        final List<String> hops = new ArrayList<>();
        for (final String line : trace.stdout().split("\n"))
        {
            final String[] fields = line.trim().split("\\s+");
            if (fields.length >= 2 && fields[0].matches("\\d+"))
            {
                hops.add(fields[1]);
            }
        }
        return hops;
    }

    /** tracepath's last line: the path MTU, the hops there and the hops back ("Resume: pmtu 1400 hops 2 back 2"). */
    private static String tracepathSummary()
    {
        lab.exec(Role.CLIENT, "ip", "route", "flush", "cache").orThrow();
        final CommandResult trace = lab.exec(Role.CLIENT, "tracepath", "-n", "-m", "5", Lab.SERVER_ADDR);
        assertEquals(0, trace.exitCode(), trace.toString());
        final String[] lines = trace.stdout().trim().split("\n");
        return lines[lines.length - 1].trim();
    }

    /** One datagram from a fresh socket in the client (udp_probe.py): what came back, then the path MTU. */
    private static List<String> probe(final int ttl, final int payload, final boolean dontFragment) throws Exception
    {
        lab.exec(Role.CLIENT, "ip", "route", "flush", "cache").orThrow();
        final Path script = Path.of(OneHopIT.class.getResource("udp_probe.py").toURI());
        final CommandResult result = lab.exec(Role.CLIENT, "python3", script.toString(), Lab.SERVER_ADDR, ECHO_PORT,
            String.valueOf(ttl), String.valueOf(payload), dontFragment ? "1" : "0", "20");
        assertEquals(0, result.exitCode(), result.toString());
        final List<String> lines = List.of(result.stdout().trim().split("\n"));
        assertEquals(2, lines.size(), result.toString());
        return lines;
    }

    private static void outsideLinkMtu(final int mtu)
    {
        lab.exec(Role.GW, "ip", "link", "set", Lab.GW_OUTSIDE_IF, "mtu", String.valueOf(mtu)).orThrow();
    }
}
