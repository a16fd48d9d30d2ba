package natgw.perf.lab;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import natgw.tun.CommandResult;
import natgw.tun.Exec;
import natgw.tun.lab.Lab;
import natgw.tun.lab.Role;

/** What exists of one lab: namespaces, their interfaces, addresses, routes and processes. */
public record LabStatus(String prefix, boolean up, List<Namespace> namespaces)
{
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** One namespace; {@code ipForward} is the value of net.ipv4.ip_forward in it. */
    public record Namespace(String role, String name, boolean exists, List<Interface> interfaces,
        List<String> routes, List<String> pids, boolean ipForward)
    {
    }

    /** One interface with its operational state and IPv4 addresses in CIDR form. */
    public record Interface(String name, String state, int mtu, List<String> addresses)
    {
    }

    public static LabStatus of(final String prefix)
    {
        Lab.checkPrefix(prefix);
        final List<String> all = Lab.namespaces();
        final List<Namespace> namespaces = new ArrayList<>();
        boolean up = true;
        for (final Role role : Role.values())
        {
            final String name = Lab.nsName(prefix, role);
            if (!all.contains(name))
            {
                up = false;
                namespaces.add(new Namespace(role.label(), name, false, List.of(), List.of(), List.of(), false));
                continue;
            }
            final String forward = Exec.run("ip", "netns", "exec", name, "cat", "/proc/sys/net/ipv4/ip_forward")
                .stdout().strip();
            namespaces.add(new Namespace(role.label(), name, true, interfaces(name), routes(name), Lab.pids(name),
                "1".equals(forward)));
        }
        return new LabStatus(prefix, up, namespaces);
    }

    static List<Interface> interfaces(final String netns)
    {
        final CommandResult result = Exec.run("ip", "-j", "-n", netns, "addr", "show");
        final List<Interface> interfaces = new ArrayList<>();
        if (!result.ok())
        {
            return interfaces;
        }
        try
        {
            for (final JsonNode link : JSON.readTree(result.stdout()))
            {
                final List<String> addresses = new ArrayList<>();
                for (final JsonNode addr : link.path("addr_info"))
                {
                    if ("inet".equals(addr.path("family").asText()))
                    {
                        addresses.add(addr.path("local").asText() + "/" + addr.path("prefixlen").asInt());
                    }
                }
                interfaces.add(new Interface(link.path("ifname").asText(), link.path("operstate").asText(),
                    link.path("mtu").asInt(), addresses));
            }
        }
        catch (final java.io.IOException e)
        {
            throw new IllegalStateException("cannot parse 'ip -j addr show' in " + netns + ": " + e.getMessage(), e);
        }
        return interfaces;
    }

    static List<String> routes(final String netns)
    {
        final List<String> routes = new ArrayList<>();
        for (final String line : Exec.run("ip", "-n", netns, "-4", "route", "show").stdout().split("\n"))
        {
            if (!line.isBlank())
            {
                routes.add(line.strip());
            }
        }
        return routes;
    }

    public String toJson()
    {
        try
        {
            return JSON.writeValueAsString(this);
        }
        catch (final com.fasterxml.jackson.core.JsonProcessingException e)
        {
            throw new IllegalStateException(e);
        }
    }

    /** Human-readable form: one block per namespace, long address lists shortened to first..last. */
    public String toText()
    {
        final StringBuilder sb = new StringBuilder();
        final long present = namespaces.stream().filter(Namespace::exists).count();
        sb.append("lab ").append(prefix).append(": ")
            .append(up ? "up" : present == 0 ? "down" : "partial (" + present + " of 3 namespaces)").append('\n');
        for (final Namespace ns : namespaces)
        {
            sb.append(String.format("%-16s %s%n", ns.name(), ns.exists() ? (ns.ipForward() ? "ip_forward=1" : "") :
                "missing"));
            for (final Interface itf : ns.interfaces())
            {
                sb.append(String.format("  %-6s %-8s mtu %-5d %s%n", itf.name(), itf.state(), itf.mtu(),
                    shorten(itf.addresses())));
            }
            for (final String route : ns.routes())
            {
                sb.append("  route ").append(route).append('\n');
            }
            if (!ns.pids().isEmpty())
            {
                sb.append("  pids ").append(String.join(" ", ns.pids())).append('\n');
            }
        }
        return sb.toString();
    }

    private static String shorten(final List<String> addresses)
    {
        if (addresses.size() <= 3)
        {
            return String.join(" ", addresses);
        }
        return addresses.get(0) + " " + addresses.get(1) + " .. " + addresses.get(addresses.size() - 1) +
            " (" + addresses.size() + " addresses)";
    }
}
