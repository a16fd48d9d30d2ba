package natgw.gateway;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

import natgw.tun.CommandResult;
import natgw.tun.lab.Lab;
import natgw.tun.lab.LabProcess;
import natgw.tun.lab.Role;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import static natgw.gateway.GatewayEndToEndIT.Gateways;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * RFC 4787 / 5382 behaviour through natgw, checked with plain sockets on a namespace lab whose server namespace has
 * four more addresses: endpoint-independent mapping after a port collision, hairpinning (UDP and TCP) with the
 * sender's own mapping as source, and filtering (the default drops an unsolicited packet from a second server,
 * endpoint-independent filtering delivers it, address-dependent only from the address the host talks to).
 */
@Tag("root")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EndpointMappingIT
{
    static final String PREFIX = "ngwm" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xFFFF));
    static final String[] SERVERS = { "10.77.2.31", "10.77.2.32", "10.77.2.33", "10.77.2.34" };
    static final String HOST_A = Lab.clientAddress(0);
    static final String HOST_B = Lab.clientAddress(1);
    static final String HOST_C = Lab.clientAddress(2);
    static final String STUN = "3478";

    static Lab lab;
    static LabProcess natgw;
    static final List<LabProcess> servers = new ArrayList<>();

    @BeforeAll
    static void up() throws Exception
    {
        Gateways.requireRoot();
        lab = Lab.up(PREFIX, 3);
        for (final String server : SERVERS)
        {
            lab.exec(Role.SERVER, "ip", "addr", "add", server + "/24", "dev", Lab.SERVER_IF).orThrow();
            servers.add(Gateways.peer(lab, Role.SERVER, "udp-echo-at", server, STUN));
        }
        servers.add(Gateways.peer(lab, Role.SERVER, "tcp-greet", SERVERS[0], "80"));
        natgw = Gateways.start(lab, "reserve");
    }

    @AfterAll
    static void down() throws Exception
    {
        for (final LabProcess server : servers)
        {
            server.stop(1000);
        }
        Gateways.stopAndCloseLab(natgw, lab, PREFIX);
    }

    private static List<String> run(final Role role, final String... peerArgs)
    {
        final CommandResult result = lab.exec(role, Gateways.peerCommand(peerArgs));
        assertEquals(0, result.exitCode(), String.join(" ", peerArgs) + ": " + result);
        return result.stdout().lines().toList();
    }

    /** "DST:PORT from POOL:PORT" -> the port the server saw. */
    private static int seenPort(final String line)
    {
        final String seen = line.substring(line.indexOf(" from ") + " from ".length());
        assertTrue(seen.startsWith(Lab.POOL_ADDR + ":"), "the server saw the pool address: " + line);
        return Integer.parseInt(seen.substring(seen.indexOf(':') + 1));
    }

    /** Starts a host's UDP socket that asks the first server, then listens; returns it once it listens. */
    private static LabProcess listening(final String host, final String port) throws Exception
    {
        final LabProcess probe = lab.start(Role.CLIENT, Gateways.peerCommand("udp-probe", host, port, "60", SERVERS[0] + ":" + STUN));
        if (!probe.awaitLine("listening"::equals, 30_000))
        {
            probe.stop(1000);
            fail("udp-probe did not get its answer: " + probe.tail(10));
        }
        return probe;
    }

    @Test
    @Order(1)
    void shouldKeepOneExternalPortForFourServersAfterACollision()
    {
        assertEquals(40000, seenPort(run(Role.CLIENT, "udp-probe", HOST_C, "40000", "0", SERVERS[0] + ":" + STUN).get(0)),
            "C keeps its port");

        final String[] destinations = new String[SERVERS.length];
        for (int i = 0; i < SERVERS.length; i++)
        {
            destinations[i] = SERVERS[i] + ":" + STUN;
        }
        final List<String> lines = new ArrayList<>(List.of("udp-probe", HOST_A, "40000", "0"));
        lines.addAll(List.of(destinations));
        final List<String> answers = run(Role.CLIENT, lines.toArray(String[]::new));
        assertEquals(SERVERS.length, answers.size(), answers.toString());
        final Set<Integer> ports = new HashSet<>();
        for (final String answer : answers)
        {
            ports.add(seenPort(answer));
        }
        assertEquals(1, ports.size(), "every server saw A on one external port: " + answers);
        final int external = ports.iterator().next();
        assertNotEquals(40000, external, "C's port is C's alone");
        final String mappings = lab.exec(Role.GW, Gateways.natgwCommand("conntrack", "-M", "-s", HOST_A)).stdout();
        assertTrue(mappings.contains("udp      17 inside=" + HOST_A + ":40000 external=" + Lab.POOL_ADDR + ":" + external + " use=4"),
            mappings);
    }

    @Test
    @Order(2)
    void shouldHairpinUdpWithTheSendersOwnMappingAsSource() throws Exception
    {
        try (LabProcess b = listening(HOST_B, "5000"))
        {
            assertEquals(5000, seenPort(b.lines().get(0)));
            final List<String> answer = run(Role.CLIENT, "udp-probe", HOST_A, "6000", "0", Lab.POOL_ADDR + ":5000");
            assertEquals(List.of(Lab.POOL_ADDR + ":5000 from " + Lab.POOL_ADDR + ":6000"), answer,
                "B answered A's external endpoint, through natgw");
            assertTrue(b.awaitLine(("got " + Lab.POOL_ADDR + ":6000 ping")::equals, 10_000), "B saw A's mapping: " + b.tail(5));
        }
    }

    @Test
    @Order(3)
    void shouldHairpinTcp() throws Exception
    {
        try (LabProcess b = lab.start(Role.CLIENT, Gateways.peerCommand("tcp-listen-mapped", HOST_B, "8080", SERVERS[0], "80")))
        {
            assertTrue(b.awaitLine("ready"::equals, 30_000), b.tail(10));
            assertEquals("mapped " + Lab.POOL_ADDR + ":8080", b.lines().get(0));
            assertEquals(List.of("hello " + Lab.POOL_ADDR + ":41000"), run(Role.CLIENT, "tcp-ask", HOST_A, "41000", Lab.POOL_ADDR, "8080"));
        }
    }

    @Test
    @Order(4)
    void shouldDropAnUnsolicitedPacketFromAnotherServerByDefault() throws Exception
    {
        try (LabProcess a = listening(HOST_A, "7000"))
        {
            final int external = seenPort(a.lines().get(0));
            final Map<String, Long> before = Gateways.drops(lab);
            run(Role.SERVER, "udp-send", SERVERS[1], "9999", Lab.POOL_ADDR, String.valueOf(external), "0");
            final Map<String, Long> after = Gateways.awaitDrops(lab, before, Map.of("filtered", 1));
            assertEquals(1, after.getOrDefault("filtered", 0L) - before.getOrDefault("filtered", 0L), after.toString());
            assertFalse(a.output().contains("got "), "a dropped packet never reaches A: " + a.tail(5));
        }
    }

    @Test
    @Order(5)
    void shouldDeliverAnUnsolicitedPacketWithEndpointIndependentFiltering() throws Exception
    {
        natgw.stop(10_000);
        natgw = Gateways.start(lab, "reserve", "--filtering", "endpoint-independent");
        try (LabProcess a = listening(HOST_A, "7100"))
        {
            final int external = seenPort(a.lines().get(0));
            final List<String> answer = run(Role.SERVER, "udp-send", SERVERS[1], "9999", Lab.POOL_ADDR, String.valueOf(external), "10");
            assertEquals(List.of("sent", "from " + SERVERS[1] + ":9999"), answer, "A answered from its mapping");
            assertTrue(a.awaitLine(("got " + SERVERS[1] + ":9999 unsolicited")::equals, 10_000), a.tail(5));
        }
    }

    @Test
    @Order(6)
    void shouldDeliverOnlyFromAnAddressTheHostTalksToWithAddressDependentFiltering() throws Exception
    {
        natgw.stop(10_000);
        natgw = Gateways.start(lab, "reserve", "--filtering", "address-dependent");
        try (LabProcess a = listening(HOST_A, "7200"))
        {
            final String external = String.valueOf(seenPort(a.lines().get(0)));
            final Map<String, Long> before = Gateways.drops(lab);
            run(Role.SERVER, "udp-send", SERVERS[1], "9999", Lab.POOL_ADDR, external, "0");
            final Map<String, Long> after = Gateways.awaitDrops(lab, before, Map.of("filtered", 1));
            assertEquals(1, after.getOrDefault("filtered", 0L) - before.getOrDefault("filtered", 0L), "another address: " + after);

            assertEquals(List.of("sent", "from " + SERVERS[0] + ":9999"),
                run(Role.SERVER, "udp-send", SERVERS[0], "9999", Lab.POOL_ADDR, external, "10"), "another port of the same address");
            assertTrue(a.awaitLine(("got " + SERVERS[0] + ":9999 unsolicited")::equals, 10_000), a.tail(5));
            assertFalse(a.output().contains("got " + SERVERS[1]), a.tail(5));
        }
    }
}
