package natgw.perf.cli;

import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

import natgw.gateway.GatewayConfig;
import natgw.gateway.cli.ExtensionCommand;
import natgw.perf.bench.Bench;
import natgw.perf.bench.BenchOptions;
import natgw.perf.bench.Implementations;
import natgw.perf.bench.Progress;
import natgw.perf.bench.Scenarios;
import natgw.perf.bench.behave.BehaveReport;
import natgw.perf.bench.behave.BehaveSuite;
import natgw.perf.sys.Failures;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code natgw bench SCENARIO}: natgw and the kernel side by side on a namespace lab, with a report. */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
        "Run one scenario through natgw and the kernel on a fresh namespace lab, and write a report.",
        "The implementations alternate in blocks. DIR gets report.html (percentile plots), report.md, " +
            "summary.json and an HdrHistogram file per implementation.",
        "SNAT scenarios: connect-storm (incident 1), throughput (iperf3 TCP with 1 and 4 flows, small-UDP " +
            "packets per second, UDP GSO), short-connections (closed and open loop), time-wait (a server that " +
            "closes first, behind a small NAT pool: its TIME_WAIT 4-tuples come back, PAWS refuses old timestamps). " +
            "Their implementations: " +
            "kernel-masq, kernel-masq-random, kernel-masq-fully-random, kernel-forward (no NAT), natgw-reserve, " +
            "natgw-kernel, natgw-random, natgw-random-fully (offloads on, natgw's default), " +
            "natgw-reserve-no-offload (--offload off), and with --nulltun the TUN ceilings nulltun (no offloads) " +
            "and nulltun-offload (nulltun -v).",
        "DNAT scenarios, through a service VIP 10.77.3.10 with --backends backends (10.77.2.11 and up, in the " +
            "server namespace): service-connect (short connections through the service), dns-a-aaaa (incident 4: " +
            "A and AAAA from one socket at once), rollout (incident 2: drain, then remove a backend under load). " +
            "Their implementations: kernel-dnat (nftables dnat and masquerade), natgw-reserve, natgw-kernel, " +
            "natgw-kernel-no-clash, natgw-random, natgw-random-fully.",
        "Conformance: behave checks RFC 4787/5382/5508 behaviour (mapping, port sharing, hairpinning, fragments, " +
            "hops, ICMP ids, pooling, timers, unsolicited SYN, filtering) with plain sockets through the kernel's " +
            "NAT and natgw, and prints one table: requirement, the kernel's answer, natgw's answer, PASS/FAIL for " +
            "natgw (docs/CONFORMANCE.md). It writes behave.txt, behave.md and behave.json.",
        "Needs root.",
    })
public final class BenchCommand implements Callable<Integer>, ExtensionCommand
{
    static final String BEHAVE = "behave";

    @Parameters(index = "0", paramLabel = "SCENARIO",
        description = "connect-storm, throughput, short-connections, service-connect, dns-a-aaaa, rollout, fragments, " +
            "time-wait or behave.")
    String scenario;

    @Option(names = "--impl", split = ",", paramLabel = "NAME",
        description = "Implementations, comma-separated, or 'all' (default: the scenario's set).")
    List<String> impls = new ArrayList<>();

    @Option(names = "--rounds", paramLabel = "N", defaultValue = "100",
        description = "connect-storm, dns-a-aaaa: rounds per implementation (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--blocks", paramLabel = "B", defaultValue = "2",
        description = "Alternation blocks: each implementation runs B segments, interleaved (default: ${DEFAULT-VALUE}).")
    int blocks;

    @Option(names = "--clients", paramLabel = "K", defaultValue = "40",
        description = "Client addresses; connect-storm's K (default: ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--interval-ms", paramLabel = "MS", defaultValue = "20",
        description = "connect-storm, dns-a-aaaa: time between rounds (default: ${DEFAULT-VALUE}).")
    double intervalMs;

    @Option(names = "--duration", paramLabel = "S", defaultValue = "5",
        description = "throughput, short-connections, service-connect, rollout, time-wait: seconds per test and segment " +
            "(default: ${DEFAULT-VALUE}).")
    double durationS;

    @Option(names = "--flows", split = ",", paramLabel = "N", defaultValue = "1,4",
        description = "throughput: one iperf3 TCP test per count, with that many parallel flows " +
            "(default: ${DEFAULT-VALUE}).")
    List<Integer> flows;

    @Option(names = "--uso-segment", paramLabel = "BYTES", defaultValue = "1400",
        description = "throughput: payload bytes per segment of the UDP GSO (UDP_SEGMENT) sender; 0 leaves that " +
            "test out (default: ${DEFAULT-VALUE}).")
    int usoSegment;

    @Option(names = "--udp-trials", paramLabel = "N", defaultValue = "8",
        description = "throughput: paced small-UDP trials that search the highest rate the path carries with at most " +
            "--udp-loss loss, after the flood; 0 leaves the search out (default: ${DEFAULT-VALUE}).")
    int udpTrials;

    @Option(names = "--udp-loss", paramLabel = "PERCENT", defaultValue = "0.5",
        description = "throughput: loss a rate found by the search may have, in percent (default: ${DEFAULT-VALUE}).")
    double udpLossPercent;

    @Option(names = "--udp-trial", paramLabel = "SECONDS", defaultValue = "2",
        description = "throughput: seconds per paced trial of the search (default: ${DEFAULT-VALUE}).")
    int udpTrialS;

    @Option(names = "--fragment-payload", paramLabel = "BYTES", defaultValue = "3000",
        description = "fragments: UDP payload bytes per datagram, more than one 1500-byte MTU holds (default: ${DEFAULT-VALUE}).")
    int fragmentPayload;

    @Option(names = "--mode", paramLabel = "closed|open|both", defaultValue = "both",
        description = "short-connections, service-connect: loop kind (default: ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--settle", paramLabel = "S", defaultValue = "2",
        description = "short-connections, service-connect: seconds of the same load through the path before each " +
            "loop's measured --duration, recorded nowhere: a segment's gateway and load generator start afresh, and " +
            "their first seconds are not what the path sustains; 0 measures from the first connection " +
            "(default: ${DEFAULT-VALUE}).")
    double settleS;

    @Option(names = "--concurrency", paramLabel = "C", defaultValue = "16",
        description = "closed loops (short-connections, service-connect, rollout): connections in flight " +
            "(default: ${DEFAULT-VALUE}).")
    int concurrency;

    @Option(names = "--rate", paramLabel = "R", defaultValue = "1000",
        description = "short-connections, service-connect open loop, time-wait: connections per second " +
            "(default: ${DEFAULT-VALUE}).")
    double rate;

    @Option(names = "--backends", paramLabel = "N", defaultValue = "3",
        description = "DNAT scenarios: backends of the service (default: ${DEFAULT-VALUE}).")
    int backends;

    @Option(names = "--dns-senders", paramLabel = "1|2", defaultValue = "2",
        description = "dns-a-aaaa: 2 sends a lookup's A and AAAA from one socket on two CPUs at the same instant " +
            "(the incident's condition), 1 back to back from one thread (default: ${DEFAULT-VALUE}).")
    int dnsSenders;

    @Option(names = "--dns-timeout-ms", paramLabel = "MS", defaultValue = "2500",
        description = "dns-a-aaaa: the resolver's wait before it retries; a later answer is late " +
            "(default: ${DEFAULT-VALUE}).")
    long dnsTimeoutMs;

    @Option(names = "--source-ports", paramLabel = "N", defaultValue = "32",
        description = "rollout: source ports per client address, reused in turn so that new connections reuse " +
            "closed connections' tuples; 0 = ephemeral ports (default: ${DEFAULT-VALUE}).")
    int sourcePorts;

    @Option(names = "--pool-ports", paramLabel = "N", defaultValue = "256",
        description = "time-wait: the source NAT's ports (20000 and up) every NAT implementation translates TCP and " +
            "UDP to, at least 8 (default: ${DEFAULT-VALUE}).")
    int poolPorts;

    @Option(names = "--threads", paramLabel = "T", defaultValue = "0",
        description = "Load-generator threads (default: one per CPU).")
    int threads;

    @Option(names = "--queues", paramLabel = "N", defaultValue = "0",
        description = "natgw --queues and nulltun -q (default: natgw's default, nulltun one per CPU).")
    int queues;

    @Option(names = "--tun-txqueuelen", paramLabel = "N", defaultValue = "" + GatewayConfig.DEFAULT_TUN_TX_QUEUE_LENGTH,
        description = "Queue length of natgw's and nulltun's TUN, set once it is up; 0 leaves the device's, 500 " +
            "(default: ${DEFAULT-VALUE}, as natgw run's).")
    int tunTxqueuelen;

    @Option(names = "--nulltun", paramLabel = "PATH",
        description = "nulltun binary, or nulltun.c to compile: adds the TUN ceilings nulltun and nulltun-offload " +
            "(-v) as implementations in the SNAT scenarios.")
    Path nulltun;

    @Option(names = "--out", paramLabel = "DIR",
        description = "Output directory (default: bench-out/SCENARIO-TIMESTAMP).")
    Path out;

    @Option(names = "--prefix", paramLabel = "P", defaultValue = "ngwb",
        description = "Lab prefix (default: ${DEFAULT-VALUE}); must not be in use.")
    String prefix;

    @Option(names = "--row", split = ",", paramLabel = "KEY",
        description = "behave: only these rows, comma-separated (default: all).")
    List<String> rows = new ArrayList<>();

    @Option(names = "--no-install", description = "Do not apt-get install missing tools; name them and stop.")
    boolean noInstall;

    @Override
    public Integer call()
    {
        return Failures.report(() ->
        {
            if (scenario.equals(BEHAVE))
            {
                return behave();
            }
            if (!Scenarios.NAMES.contains(scenario))
            {
                throw new IllegalArgumentException("unknown scenario '" + scenario + "'; known: " +
                    String.join(", ", Scenarios.NAMES) + ", " + BEHAVE);
            }
            final BenchOptions options = new BenchOptions();
            options.impls = impls;
            options.rounds = rounds;
            options.blocks = blocks;
            options.clients = clients;
            options.intervalMs = intervalMs;
            options.durationS = durationS;
            options.flows = flows;
            options.usoSegment = usoSegment;
            options.udpTrials = udpTrials;
            options.udpLossPercent = udpLossPercent;
            options.udpTrialS = udpTrialS;
            options.fragmentPayload = fragmentPayload;
            options.mode = mode;
            options.concurrency = concurrency;
            options.settleS = settleS;
            options.rate = rate;
            options.backends = backends;
            options.dnsSenders = dnsSenders;
            options.dnsTimeoutMs = dnsTimeoutMs;
            options.sourcePorts = sourcePorts;
            options.poolPorts = poolPorts;
            options.threads = threads;
            options.queues = queues;
            options.tunTxqueuelen = tunTxqueuelen;
            options.nulltun = nulltun;
            options.out = out;
            options.prefix = prefix;
            options.install = !noInstall;
            Implementations.select(impls, List.of(), nulltun, Scenarios.byName(scenario).dnat());
            final Bench.Outcome outcome = Bench.run(scenario, options, "natgw bench: " + scenario,
                "natgw bench " + scenario + describe(options), Progress.stderr(), System.out);
            System.out.println("report: " + outcome.files().html().toAbsolutePath());
            return 0;
        });
    }

    private int behave() throws Exception
    {
        final Path dir = out != null ? out : Path.of("bench-out", "behave-" +
            LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        final List<BehaveSuite.Result> results = BehaveSuite.run(prefix, dir, !noInstall, rows, System.err);
        System.out.print(BehaveReport.text(results));
        System.out.println("report: " + dir.resolve("behave.md").toAbsolutePath());
        return 0;
    }

    private static String describe(final BenchOptions o)
    {
        final StringBuilder sb = new StringBuilder();
        if (!o.impls.isEmpty())
        {
            sb.append(" --impl ").append(String.join(",", o.impls));
        }
        sb.append(" --rounds ").append(o.rounds).append(" --blocks ").append(o.blocks).append(" --clients ")
            .append(o.clients).append(" --duration ").append(o.durationS);
        sb.append(" --flows ").append(o.flows.stream().map(String::valueOf).collect(Collectors.joining(",")))
            .append(" --uso-segment ").append(o.usoSegment);
        if (o.udpTrials != 8 || o.udpLossPercent != 0.5 || o.udpTrialS != 2)
        {
            sb.append(" --udp-trials ").append(o.udpTrials).append(" --udp-loss ").append(o.udpLossPercent)
                .append(" --udp-trial ").append(o.udpTrialS);
        }
        if (o.fragmentPayload != 3000)
        {
            sb.append(" --fragment-payload ").append(o.fragmentPayload);
        }
        if (!o.mode.equals("both"))
        {
            sb.append(" --mode ").append(o.mode);
        }
        sb.append(" --settle ").append(o.settleS);
        sb.append(" --concurrency ").append(o.concurrency).append(" --rate ").append(o.rate)
            .append(" --interval-ms ").append(o.intervalMs);
        sb.append(" --backends ").append(o.backends).append(" --dns-senders ").append(o.dnsSenders)
            .append(" --source-ports ").append(o.sourcePorts).append(" --pool-ports ").append(o.poolPorts);
        if (o.nulltun != null)
        {
            sb.append(" --nulltun ").append(o.nulltun);
        }
        if (o.queues > 0)
        {
            sb.append(" --queues ").append(o.queues);
        }
        if (o.tunTxqueuelen > 0)
        {
            sb.append(" --tun-txqueuelen ").append(o.tunTxqueuelen);
        }
        return sb.toString();
    }
}
