package natgw.gateway;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import natgw.tun.CommandResult;
import natgw.tun.Exec;
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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Who sees whom through a service, end to end: an inside client is masqueraded and DNAT'ed on one flow (the
 * backend sees the pool address), an outside client only DNAT'ed (the backend sees the client), a backend
 * reaching a VIP lands on itself (masqueraded, else it would answer itself around the gateway) or on a sibling
 * (DNAT only; the sibling's answer comes back through natgw because backend links are steered into it). Then
 * incident 3's ghost: a backend namespace with no listener resets every SYN, and {@code natgw services} flags
 * it with its SynReset count. Last, a removed backend's open connection is reset on its next packet.
 */
@Tag("root")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ServiceHairpinIT
{
    private static final String WEB = "10.96.0.80";
    private static final String SELF = "10.96.0.81";
    private static final String GHOSTED = "10.96.0.82";
    private static final String LONG = "10.96.0.83";

    static ServiceLab lab;

    @BeforeAll
    static void up() throws Exception
    {
        lab = ServiceLab.up("ngwh", 2, 3);
        final String b1 = ServiceLab.backendAddress(1) + ":80";
        final String b2 = ServiceLab.backendAddress(2) + ":80";
        final String b3 = ServiceLab.backendAddress(3) + ":80";
        lab.startBackend(1, "80", "-", null);
        lab.startBackend(2, "80", "-", null);
        // b3 runs nothing: its kernel answers every SYN with a RST (incident 3's ghost)
        lab.startNatgw("--steer", "b1", "--steer", "b2", "--steer", "b3",
            "--service", "tcp:" + WEB + ":80/rr=" + b1 + "," + b2,
            "--service", "tcp:" + SELF + ":80=" + b1,
            "--service", "tcp:" + GHOSTED + ":80/rr=" + b1 + "," + b2 + "," + b3,
            "--service", "tcp:" + LONG + ":80=" + b2);
        // the outside network has a route to the service range through the gateway
        Exec.check("ip", "-n", lab.lab.ns(Role.SERVER), "route", "add", "10.96.0.0/24", "via", Lab.GW_OUTSIDE_ADDR);
    }

    @AfterAll
    static void down() throws Exception
    {
        if (lab != null)
        {
            lab.close();
        }
    }

    private static List<String> curl(final List<String> inNamespace, final String vip, final int times)
    {
        final List<String> answers = new ArrayList<>();
        for (int i = 0; i < times; i++)
        {
            final List<String> command = new ArrayList<>(inNamespace);
            command.addAll(List.of("curl", "-s", "--max-time", "30", "http://" + vip + "/"));
            final CommandResult result = Exec.run(command, null, 60_000);
            assertEquals(0, result.exitCode(), "curl " + vip + ": " + result);
            answers.add(result.stdout().trim());
        }
        return answers;
    }

    private static List<String> client()
    {
        return List.of("ip", "netns", "exec", lab.lab.ns(Role.CLIENT));
    }

    private static List<String> backend(final int n)
    {
        return List.of("ip", "netns", "exec", lab.backendNs(n));
    }

    @Test
    @Order(1)
    void shouldSnatAndDnatAnInsideClientOnOneFlow()
    {
        final List<String> answers = curl(client(), WEB, 4);
        assertEquals(List.of("b1 you-are " + Lab.POOL_ADDR, "b2 you-are " + Lab.POOL_ADDR,
            "b1 you-are " + Lab.POOL_ADDR, "b2 you-are " + Lab.POOL_ADDR), answers);
        final String listing = lab.natgwOk("conntrack", "-L", "-p", "tcp");
        assertTrue(listing.contains("src=" + Lab.clientAddress(0) + " dst=" + WEB) &&
            listing.contains("src=" + ServiceLab.backendAddress(1) + " dst=" + Lab.POOL_ADDR + " sport=80"),
            "one connection, both translations:\n" + listing);
    }

    @Test
    @Order(2)
    void shouldOnlyDnatAnOutsideClient()
    {
        final List<String> answers = curl(List.of("ip", "netns", "exec", lab.lab.ns(Role.SERVER)), WEB, 2);
        for (final String answer : answers)
        {
            assertTrue(answer.endsWith(" you-are " + Lab.SERVER_ADDR), "the backend sees the outside client itself: " + answer);
        }
    }

    @Test
    @Order(3)
    void shouldHairpinABackendToItself()
    {
        for (final String answer : curl(backend(1), SELF, 3))
        {
            assertEquals("b1 you-are " + Lab.POOL_ADDR, answer, "masqueraded, so b1 answers through the gateway");
        }
    }

    @Test
    @Order(4)
    void shouldHairpinABackendToItselfOrASibling()
    {
        final List<String> answers = curl(backend(1), WEB, 4);
        assertTrue(answers.contains("b1 you-are " + Lab.POOL_ADDR), answers.toString());
        assertTrue(answers.contains("b2 you-are " + ServiceLab.backendAddress(1)), "a sibling sees b1 itself: " + answers);
        for (final String answer : answers)
        {
            assertTrue(answer.equals("b1 you-are " + Lab.POOL_ADDR) || answer.equals("b2 you-are " + ServiceLab.backendAddress(1)),
                answer);
        }
    }

    @Test
    @Order(5)
    void shouldFlagABackendThatResetsSynsWithItsSynResetCount()
    {
        final CommandResult result = lab.inClient(ServiceLab.peer("http-ask", GHOSTED, "80", "-", "30", "1"));
        assertEquals(0, result.exitCode(), result.toString());
        int refused = 0;
        int answered = 0;
        for (final String line : result.stdout().split("\n"))
        {
            if (line.startsWith("error "))
            {
                assertTrue(line.contains("Connection refused"), line);
                refused++;
            }
            else if (line.startsWith("got "))
            {
                answered++;
            }
        }
        assertEquals(10, refused, "rr: one in three SYNs reaches the ghost, which resets it\n" + result.stdout());
        assertEquals(20, answered, result.stdout());

        final String listing = lab.natgwOk("services");
        System.out.println(listing);
        boolean inService = false;
        int seen = 0;
        for (final String line : listing.split("\n"))
        {
            final String[] f = line.trim().split("\\s+");
            if (!line.startsWith("  "))
            {
                inService = f.length >= 2 && f[1].equals(GHOSTED + ":80");
                continue;
            }
            if (!inService || !f[0].equals("->") || !f[1].startsWith("10.77."))
            {
                continue;
            }
            seen++;
            // -> ADDR:PORT Forward Weight ActiveConn InActConn NewConn SynReset SynUnanswered IcmpErrors [<< resets N% ...]
            if (f[1].equals(ServiceLab.backendAddress(3) + ":80"))
            {
                assertEquals("10", f[6], "NewConn of the ghost: " + line);
                assertEquals("10", f[7], "SynReset of the ghost: " + line);
                assertTrue(line.contains("<< resets 100% of its SYNs"), "the ghost is flagged: " + line);
            }
            else
            {
                assertEquals("10", f[6], line);
                assertEquals("0", f[7], line);
                assertFalse(line.contains("<<"), "a healthy backend is not flagged: " + line);
            }
        }
        assertEquals(3, seen, listing);
    }

    @Test
    @Order(6)
    void shouldResetAnOpenConnectionOfARemovedBackendOnItsNextPacket() throws Exception
    {
        final Path go = Path.of("target", lab.prefix + "-go").toAbsolutePath();
        Files.deleteIfExists(go);
        final String script = String.join("\n",
            "import os, socket, sys, time",
            "s = socket.create_connection(('" + LONG + "', 80), timeout=30)",
            "print('connected', flush=True)",
            "while not os.path.exists(sys.argv[1]): time.sleep(0.02)",
            "try:",
            "    s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')",
            "    print('got', s.recv(200), flush=True)",
            "except ConnectionResetError:",
            "    print('reset', flush=True)",
            "except socket.timeout:",
            "    print('timeout', flush=True)");
        final long goneBefore = lab.conntrackStats().getOrDefault("backend_gone", 0L);
        try (LabProcess client = lab.lab.start(Role.CLIENT, List.of("python3", "-c", script, go.toString())))
        {
            assertTrue(client.awaitLine("connected"::equals, 30_000), client.output());
            lab.natgwOk("service", "del", "tcp:" + LONG + ":80", ServiceLab.backendAddress(2) + ":80");
            Files.writeString(go, "go");
            assertTrue(client.awaitLine(line -> !line.equals("connected"), 30_000), client.output());
            assertTrue(client.output().contains("reset"), "the client is told at once, not left hanging:\n" + client.output());
        }
        assertEquals(goneBefore + 1, lab.conntrackStats().getOrDefault("backend_gone", 0L));
    }
}
