package natgw.gateway;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import natgw.tun.CommandResult;
import natgw.tun.Exec;
import natgw.tun.lab.Lab;
import natgw.tun.lab.Role;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * natgw run --config FILE with services, end to end: the file's services answer, {@code natgw services} lists
 * them, a service added at runtime gets its VIP routed and answers; a bad line is refused with FILE:LINE on
 * stderr and picocli's exit code 2, before anything is set up.
 */
@Tag("root")
class ServiceConfigIT
{
    private static String curl(final ServiceLab lab, final String vip)
    {
        final CommandResult result = lab.inClient(List.of("curl", "-s", "--max-time", "30", "http://" + vip + "/"));
        assertEquals(0, result.exitCode(), "curl " + vip + ": " + result);
        return result.stdout().trim();
    }

    @Test
    void shouldRunTheServicesOfAConfigFileAndTakeMoreAtRuntime() throws Exception
    {
        try (ServiceLab lab = ServiceLab.up("ngwc", 1, 2))
        {
            lab.startBackend(1, "80", "53", null);
            lab.startBackend(2, "80", "53", null);
            final Path config = ServiceLab.file(lab.prefix + ".conf", String.join("\n",
                "# natgw in front of two backends",
                "tun " + Lab.TUN_NAME,
                "inside " + Lab.INSIDE_CIDR + "   # the client network",
                "snat " + Lab.POOL_ADDR,
                "steer " + Lab.GW_INSIDE_IF,
                "queues 2",
                "metrics-port 0",
                "",
                "service tcp:10.96.0.90:80/wrr=" + ServiceLab.backendAddress(1) + ":80@1," + ServiceLab.backendAddress(2) + ":80@1",
                "service udp:10.96.0.91:53=" + ServiceLab.backendAddress(1) + ":53",
                ""));
            lab.startNatgwWith("run", "--config", config.toString());

            final List<String> answers = new ArrayList<>(List.of(curl(lab, "10.96.0.90"), curl(lab, "10.96.0.90")));
            assertEquals(List.of("b1 you-are " + Lab.POOL_ADDR, "b2 you-are " + Lab.POOL_ADDR), answers);
            final CommandResult dns = lab.inClient(ServiceLab.peer("dns-ask", "10.96.0.91", "53", "5", "-", "10000"));
            assertTrue(dns.stdout().contains("answered 10") && dns.stdout().contains("backend b1 5"), dns.toString());

            String listing = lab.natgwOk("services");
            assertTrue(listing.contains("TCP  10.96.0.90:80 wrr") && listing.contains("UDP  10.96.0.91:53 rr"), listing);

            final String added = lab.natgwOk("service", "add", "tcp:10.96.0.92:80/rr=" + ServiceLab.backendAddress(2) + ":80");
            assertTrue(added.contains("1 backend"), added);
            assertEquals("b2 you-are " + Lab.POOL_ADDR, curl(lab, "10.96.0.92"), "a VIP added at runtime is routed and served");
            lab.natgwOk("service", "add", "tcp:10.96.0.92:80=" + ServiceLab.backendAddress(1) + ":80@3");
            lab.natgwOk("service", "set", "tcp:10.96.0.92:80", ServiceLab.backendAddress(2) + ":80", "weight", "0");
            assertEquals("b1 you-are " + Lab.POOL_ADDR, curl(lab, "10.96.0.92"));
            listing = lab.natgwOk("services");
            assertTrue(listing.contains("TCP  10.96.0.92:80 rr"), listing);

            final CommandResult wrong = lab.natgw("service", "set", "tcp:10.96.0.92:80", "10.77.99.2:80", "weight", "1");
            assertTrue(wrong.exitCode() != 0 && (wrong.stderr() + wrong.stdout()).contains("10.77.99.2:80"), wrong.toString());
        }
    }

    @Test
    void shouldRefuseABadLineWithFileAndLine() throws Exception
    {
        ServiceLab.requireRoot();
        final Path unknown = ServiceLab.file("bad-setting.conf", "inside 10.77.1.0/24\nsnat 10.77.2.100\nsnatt 10.77.2.101\n");
        CommandResult result = Exec.run(GatewayEndToEndIT.Gateways.natgwCommand("run", "--config", unknown.toString()), null, 30_000);
        assertEquals(2, result.exitCode(), result.toString());
        assertTrue(result.stderr().contains(unknown + ":3: unknown setting 'snatt'"), result.stderr());

        final Path service = ServiceLab.file("bad-service.conf", String.join("\n",
            "inside 10.77.1.0/24", "snat 10.77.2.100", "# the services", "service tcp:10.96.0.90:80/fastest=10.77.11.2:80", ""));
        result = Exec.run(GatewayEndToEndIT.Gateways.natgwCommand("run", "--config", service.toString()), null, 30_000);
        assertEquals(2, result.exitCode(), result.toString());
        assertTrue(result.stderr().contains(service + ":4: ") && result.stderr().contains("'fastest'"), result.stderr());
        assertTrue(result.stdout().isEmpty(), "nothing set up, nothing reported: " + result.stdout());
    }
}
