package natgw.tun.lab;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import natgw.tun.CommandResult;
import natgw.tun.Exec;

/**
 * The system tools the lab and the benchmarks call, with the Debian package that provides each.
 * Missing tools are installed with apt-get when allowed (root on Debian/Ubuntu), otherwise named in the
 * error together with the exact install command.
 */
public final class Tools
{
    private static final Map<String, String> PACKAGE_OF = Map.ofEntries(
        Map.entry("ip", "iproute2"),
        Map.entry("nft", "nftables"),
        Map.entry("iperf3", "iperf3"),
        Map.entry("conntrack", "conntrack"),
        Map.entry("gcc", "gcc"),
        Map.entry("ping", "iputils-ping"),
        Map.entry("tracepath", "iputils-tracepath"),
        Map.entry("traceroute", "traceroute"),
        Map.entry("tcpdump", "tcpdump"),
        Map.entry("sysctl", "procps"),
        Map.entry("bash", "bash"),
        Map.entry("timeout", "coreutils"));

    private Tools()
    {
    }

    public static String packageOf(final String tool)
    {
        return PACKAGE_OF.getOrDefault(tool, tool);
    }

    public static List<String> missing(final List<String> tools)
    {
        final List<String> missing = new ArrayList<>();
        for (final String tool : tools)
        {
            if (!Exec.onPath(tool))
            {
                missing.add(tool);
            }
        }
        return missing;
    }

    /** The apt-get command that installs the packages providing {@code tools}. */
    public static String installCommand(final List<String> tools)
    {
        final Set<String> packages = new LinkedHashSet<>();
        for (final String tool : tools)
        {
            packages.add(packageOf(tool));
        }
        return "apt-get install -y " + String.join(" ", packages);
    }

    /**
     * Makes sure every tool is on PATH. When some are missing and {@code install} is true and this is root on a
     * system with apt-get, installs them (progress on stderr); otherwise throws naming the tools and the command.
     */
    public static void require(final List<String> tools, final boolean install)
    {
        final List<String> missing = missing(tools);
        if (missing.isEmpty())
        {
            return;
        }
        final String command = installCommand(missing);
        if (install && Privileges.canManageNamespaces() && Files.isExecutable(Path.of("/usr/bin/apt-get")))
        {
            System.err.println("natgw: installing missing tools " + missing + ": " + command);
            final List<String> cmd = new ArrayList<>(List.of("apt-get", "install", "-y", "-q"));
            for (final String tool : missing)
            {
                cmd.add(packageOf(tool));
            }
            CommandResult result = Exec.run(cmd, null, 600_000);
            if (!result.ok())
            {
                // the package lists may be missing on a fresh machine
                Exec.run(List.of("apt-get", "update", "-q"), null, 600_000);
                result = Exec.run(cmd, null, 600_000);
            }
            if (result.ok() && missing(missing).isEmpty())
            {
                return;
            }
            throw new IllegalStateException("could not install " + missing + " (" + command + "): " +
                result.stderr().strip());
        }
        throw new IllegalStateException("missing tools: " + String.join(", ", missing) + "; install them with: " +
            command);
    }
}
