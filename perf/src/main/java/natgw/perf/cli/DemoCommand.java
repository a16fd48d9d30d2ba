package natgw.perf.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import natgw.gateway.cli.ExtensionCommand;
import natgw.perf.bench.Bench;
import natgw.perf.bench.Demo;
import natgw.perf.bench.Progress;
import natgw.perf.sys.Failures;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code natgw demo}: the one command a new user runs. */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
        "Show incident 1 and natgw's answer, natgw side by side with the kernel, in about a minute.",
        "Builds a namespace lab (prefix ngwd) and runs connect-storm (40 client addresses, same source port, same " +
            "instant, 2 x 25 rounds) through the kernel's nftables masquerade (default and fully-random) and " +
            "through natgw --port-strategy reserve and kernel; then a 3 s TCP and small-UDP throughput check " +
            "through the kernel's masquerade and natgw. Prints the tables and the path of the HTML report, and " +
            "removes everything it created.",
        "Needs root; missing tools (ip, nft, iperf3, conntrack) are installed with apt-get unless --no-install.",
    })
public final class DemoCommand implements Callable<Integer>, ExtensionCommand
{
    @Option(names = "--out", paramLabel = "DIR", description = "Report directory (default: bench-out/demo-TIMESTAMP).")
    Path out;

    @Option(names = "--no-natgw-kernel", description = "Leave out natgw's emulation of the kernel's racy allocator.")
    boolean noNatgwKernel;

    @Option(names = "--nulltun", paramLabel = "PATH",
        description = "nulltun binary or nulltun.c: adds the TUN ceiling to the throughput check.")
    Path nulltun;

    @Option(names = "--no-install", description = "Do not apt-get install missing tools; name them and stop.")
    boolean noInstall;

    @Override
    public Integer call()
    {
        return Failures.report(() ->
        {
            final long startNs = System.nanoTime();
            final Path dir = out != null ? out : Path.of("bench-out", "demo-" +
                java.time.LocalDateTime.now().format(java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
            final Bench.Outcome outcome = Demo.run(dir, !noNatgwKernel, !noInstall, nulltun, Progress.stderr(),
                System.out);
            System.out.printf("%ndemo took %.0f s; everything it created is removed.%n",
                (System.nanoTime() - startNs) / 1e9);
            System.out.println("report: " + outcome.files().html().toAbsolutePath());
            return 0;
        });
    }
}
