package natgw.gateway.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import natgw.tun.CommandResult;
import natgw.tun.lab.JavaCommand;
import natgw.tun.testing.TestNetns;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code natgw run} refusing what it cannot do, through the shipped jar in a throw-away network namespace: for
 * each bad input, the message (one line naming the flag or FILE:LINE, then where the help is, for a usage
 * error), the exit code, nothing on stdout (no "stopped; host network restored" when nothing started) and the
 * namespace exactly as before: links, rules, routes, proxy neighbours, forwarding and rp_filter, and no undo
 * journal left in /run/natgw.
 */
@Tag("root")
class RunCommandIT
{
    private static final String HELP = "see natgw run --help";
    /** setpriv: the same command as an unprivileged user, without or with CAP_NET_ADMIN. */
    private static final List<String> NOBODY = List.of(
        "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all");
    private static final List<String> NOBODY_WITH_NET_ADMIN = List.of(
        "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=+net_admin",
        "--ambient-caps=+net_admin");

    /**
     * One bad input.
     *
     * @param config the config file's lines, or null for none ({@code --config FILE} is added before args).
     * @param as     a prefix that runs natgw unprivileged, or an empty list for root.
     * @param exit   the exit code: 2 for a usage error, 1 for a failure.
     * @param line   the first line on stderr, a regex; FILE stands for the config file's path.
     */
    record Row(List<String> config, List<String> args, List<String> as, int exit, String line)
    {
    }

    private static Row usage(final String line, final String... args)
    {
        return new Row(null, List.of(args), List.of(), 2, Pattern.quote(line));
    }

    private static Row config(final List<String> lines, final String line, final String... args)
    {
        return new Row(lines, List.of(args), List.of(), 2, Pattern.quote(line).replace("FILE", "\\E/.*/natgw\\.conf\\Q"));
    }

    static List<Row> rows()
    {
        return List.of(
            usage("natgw: --inside: not a CIDR (prefix length 0..32): '10.0.0.0/33'; write ADDR/LEN, e.g. 172.18.0.0/16",
                "--inside", "10.0.0.0/33", "--snat", "10.77.2.100"),
            usage("natgw: --snat: missing; give the pool the sources are masqueraded to (hairpin service traffic " +
                "too), e.g. --snat 192.0.2.10", "--inside", "10.77.1.0/24"),
            usage("natgw: --snatt: natgw run has no such option; did you mean --snat?",
                "--inside", "10.77.1.0/24", "--snatt", "10.77.2.100"),
            usage("natgw: --queues: 'two' is not a whole number; give digits only, e.g. --queues 8",
                "--inside", "10.77.1.0/24", "--snat", "10.77.2.100", "--queues", "two"),
            usage("natgw: --port-range: port range must be LO-HI within 1-65535 with LO <= HI, got '70000-1'",
                "--inside", "10.77.1.0/24", "--snat", "10.77.2.100", "--port-range", "70000-1"),
            usage("natgw: --steer: there is no interface nosuch0 in this network namespace; the interfaces here: lo",
                "--inside", "10.77.1.0/24", "--snat", "10.77.2.100", "--steer", "nosuch0"),
            config(List.of("inside 10.77.1.0/24", "snat = 10.77.2.300"),
                "natgw: FILE:2: snat: not an IPv4 address: '10.77.2.300'; give ADDR[,ADDR...] or a CIDR, " +
                    "e.g. 192.0.2.10 or 192.0.2.8/29"),
            config(List.of("inside 10.77.1.0/24", "snat = 10.77.2.100", "", "steer = nosuch0"),
                "natgw: FILE:4: steer: there is no interface nosuch0 in this network namespace; the interfaces here: lo"),
            config(List.of("inside 10.77.1.0/24", "snatt 10.77.2.100"),
                "natgw: FILE:2: unknown setting 'snatt'; did you mean snat?"),
            new Row(null, List.of("--inside", "10.77.1.0/24", "--snat", "10.77.2.100"), NOBODY, 1,
                Pattern.quote("natgw: natgw run needs root or CAP_NET_ADMIN; run it as root (sudo)")),
            new Row(null, List.of("--inside", "10.77.1.0/24", "--snat", "10.77.2.100", "--warmup-rounds", "0"),
                NOBODY_WITH_NET_ADMIN, 1, "natgw: cannot create the undo journal /run/natgw/natgw0@netns-\\d+\\.journal " +
                "\\(\\S+: permission denied\\); changing the host network needs root, or CAP_NET_ADMIN and write " +
                "access to /run/natgw"));
    }

    @Test
    void shouldRefuseEachBadInputWithOneLineAndLeaveTheHostAsItWas(@TempDir final Path dir) throws Exception
    {
        TestNetns.ensureAvailable();
        assertTrue(Stream.of("/usr/bin/setpriv", "/bin/setpriv").anyMatch(p -> Files.isExecutable(Path.of(p))),
            "this test runs natgw unprivileged with setpriv: apt-get install util-linux");
        final Path conf = dir.resolve("natgw.conf");
        try (TestNetns ns = TestNetns.create())
        {
            final String inode = Long.toString(ns.inode());
            final String before = state(ns, inode);
            final List<String> failures = new ArrayList<>();
            for (final Row row : rows())
            {
                final List<String> command = new ArrayList<>(row.as());
                final List<String> args = new ArrayList<>(List.of("run"));
                if (row.config() != null)
                {
                    Files.writeString(conf, String.join("\n", row.config()) + "\n");
                    args.addAll(List.of("--config", conf.toString()));
                }
                args.addAll(row.args());
                command.addAll(JavaCommand.natgwJar(Path.of("target", "natgw.jar").toAbsolutePath(), args.toArray(String[]::new)));
                final CommandResult result = ns.exec(command.toArray(String[]::new));

                final List<String> expected = row.exit() == 2 ? List.of(row.line(), Pattern.quote(HELP)) :
                    List.of(row.line());
                final List<String> err = result.stderr().lines().toList();
                final boolean messageMatches = err.size() == expected.size() &&
                    err.get(0).matches(expected.get(0)) && (err.size() < 2 || err.get(1).equals(HELP));
                final String after = state(ns, inode);
                if (result.exitCode() != row.exit() || !messageMatches || !result.stdout().isEmpty() ||
                    !after.equals(before))
                {
                    failures.add("natgw " + String.join(" ", args) + (row.as().isEmpty() ? "" : " (as nobody)") +
                        "\n  exit " + result.exitCode() + ", expected " + row.exit() +
                        "\n  stderr: " + result.stderr().strip().replace("\n", "\n          ") +
                        "\n  expected: " + String.join("\n            ", expected) +
                        (result.stdout().isEmpty() ? "" : "\n  stdout: " + result.stdout().strip()) +
                        (after.equals(before) ? "" : "\n  the namespace changed:\n" + after));
                }
            }
            assertEquals("", String.join("\n", failures));
        }
    }

    /** What natgw run may change in a namespace, and its undo journals. */
    private static String state(final TestNetns ns, final String inode) throws Exception
    {
        final StringBuilder sb = new StringBuilder();
        for (final String[] command : List.of(
            new String[]{ "ip", "-o", "link", "show" },
            new String[]{ "ip", "rule", "show" },
            new String[]{ "ip", "route", "show", "table", "all" },
            new String[]{ "ip", "neigh", "show", "proxy" },
            new String[]{ "cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv4/conf/all/rp_filter",
                "/proc/sys/net/ipv4/conf/lo/rp_filter" }))
        {
            sb.append("$ ").append(String.join(" ", command)).append('\n').append(ns.exec(command).stdout());
        }
        final Path journals = Path.of("/run/natgw");
        if (Files.isDirectory(journals))
        {
            try (Stream<Path> files = Files.list(journals))
            {
                files.map(p -> p.getFileName().toString()).filter(name -> name.contains("@netns-" + inode + "."))
                    .sorted().forEach(name -> sb.append("journal ").append(name).append('\n'));
            }
        }
        return sb.toString();
    }
}
