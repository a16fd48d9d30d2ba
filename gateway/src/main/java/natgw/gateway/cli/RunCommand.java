package natgw.gateway.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import natgw.core.nat.Cidr;
import natgw.core.nat.PortStrategy;
import natgw.core.nat.SnatPolicy;
import natgw.gateway.GatewayConfig;
import natgw.gateway.GatewayHost;

@Command(
    name = "run",
    description = {
        "Run the gateway: SNAT (masquerade) of inside sources to a pool, with race-free connection tracking.",
        "Needs root or CAP_NET_ADMIN. Every route, rule, neighbour entry and sysctl it sets is undone on exit."
    },
    mixinStandardHelpOptions = true,
    sortOptions = false)
public final class RunCommand implements Callable<Integer>
{
    @Spec
    CommandSpec spec;

    @Option(names = "--tun", paramLabel = "NAME", description = "TUN device; created if missing, removed on exit if created (default: ${DEFAULT-VALUE})")
    String tun = "natgw0";

    @Option(names = "--queues", paramLabel = "N", description = "TUN queues, one worker thread each (default: number of CPUs)")
    Integer queues;

    @Option(names = "--config", paramLabel = "FILE", description = "settings file: one 'option value' per line (see docs/CONFIG.md)")
    java.nio.file.Path config;

    @Option(names = "--inside", paramLabel = "CIDR[,CIDR...]", split = ",", description = "sources that get SNAT")
    List<String> inside = new ArrayList<>();

    @Option(names = "--snat", paramLabel = "ADDR[,ADDR...]|CIDR",
        description = "the pool; on the outside link's subnet (natgw adds proxy neighbour entries) or routed to this host")
    String snat;

    @Option(names = "--steer", paramLabel = "IFACE", description = "route packets arriving on IFACE into the TUN (policy routing); repeatable")
    List<String> steer = new ArrayList<>();

    @Option(names = "--port-range", paramLabel = "LO-HI", description = "SNAT source ports (default: ${DEFAULT-VALUE})")
    String portRange = "1024-65535";

    @Option(names = "--port-strategy", paramLabel = "S",
        description = "reserve (atomic reserve-then-confirm, default), kernel (Linux nf_nat, race included), random, random-fully")
    String portStrategy = "reserve";

    @Option(names = "--conntrack-max", paramLabel = "N", description = "connection table capacity (default: ${DEFAULT-VALUE}); the whole table, about 128 bytes per connection, is allocated at start, in huge pages where the kernel has them")
    int conntrackMax = 262_144;

    @Option(names = "--timeout", paramLabel = "NAME=SECONDS",
        description = "connection timeout, Linux sysctl names without prefix: tcp_established=432000, udp=30, udp_stream=120, icmp=30, ...; repeatable")
    List<String> timeouts = new ArrayList<>();

    @Option(names = "--race-window-ns", paramLabel = "NS",
        description = "kernel strategies only: busy wait between the port check and the insert, to show the race (default: 0)")
    long raceWindowNs;

    @Option(names = "--no-clash-resolution", description = "kernel strategies only: drop UDP clashes too, as Linux before 4.19")
    boolean noClashResolution;

    @Option(names = "--mtu", paramLabel = "BYTES", description = "TUN MTU (default: ${DEFAULT-VALUE})")
    int mtu = 1500;

    @Option(names = "--offload", paramLabel = "on|off",
        description = "virtio-net offloads on the TUN: the kernel hands over TCP/UDP super-packets of up to 64 KiB " +
            "with checksums left to finish, translated once each; off: every packet at most one MTU, as before " +
            "(default: ${DEFAULT-VALUE})")
    String offload = "on";

    @Option(names = "--busy-poll-us", paramLabel = "US",
        description = "an idle worker keeps reading for US microseconds before it sleeps in poll(2): the next " +
            "packet of a burst is taken without a scheduler wake-up, at the price of a core busy that long " +
            "(default: ${DEFAULT-VALUE})")
    int busyPollUs = 0;

    @Option(names = "--metrics-address", paramLabel = "HOST:PORT|off",
        description = "Prometheus metrics on http://HOST:PORT/metrics; 0.0.0.0:PORT for a Prometheus server on another " +
            "host, [::1]:PORT for IPv6, port 0 for any free one, off for none (default: ${DEFAULT-VALUE})")
    String metricsAddress = "127.0.0.1:9469";

    /** The flag before --metrics-address, kept for the command lines and config files that use it. */
    @Option(names = "--metrics-port", paramLabel = "PORT", description = "the same as --metrics-address 127.0.0.1:PORT; 0 = off")
    void metricsPort(final int port)
    {
        metricsAddress = port == 0 ? "off" : "127.0.0.1:" + port;
    }

    @Option(names = "--route-table", paramLabel = "ID", description = "routing table for --steer (default: ${DEFAULT-VALUE})")
    int routeTable = 20039;

    @Option(names = "--no-l4-checksum-check", description = "do not verify TCP/UDP/ICMP checksums of incoming packets")
    boolean noL4ChecksumCheck;

    @Option(names = "--service", paramLabel = "PROTO:VIP:PORT[/SCHED[/AFFINITY_S]]=BACKEND:PORT[@W][,...]",
        description = "a DNAT service (repeatable); schedulers rr (default), wrr, lc, wlc, sh, mh, random; AFFINITY_S keeps a client on its backend")
    List<String> service = new ArrayList<>();

    @Option(names = "--tun-txqueuelen", paramLabel = "PACKETS",
        description = "queue of the TUN device in front of the workers; a longer one rides out moments when the " +
            "workers are kept off the CPU instead of dropping (and a dropped SYN costs its client 1 s); 0 keeps " +
            "the device's (default: ${DEFAULT-VALUE}; the kernel's is 500)")
    int tunTxQueueLength = 5000;

    @Option(names = "--warmup-rounds", paramLabel = "N",
        description = "synthetic traffic run through a private pipeline at start so the JIT compiles the packet path " +
            "before real packets arrive; 0 = off (default: ${DEFAULT-VALUE})")
    int warmupRounds = 20_000;

    @Option(names = "--removed-backend", paramLabel = "reset|unreachable",
        description = "how flows of a removed backend end: TCP RST to the client (reset, default) or ICMP host unreachable")
    String removedBackend = "reset";

    public Integer call() throws Exception
    {
        return withConfigFile().runGateway();
    }

    /**
     * This command with its {@code --config} file applied: the file's settings first, then the command line's
     * (so they win for single values and add to repeatable ones), parsed together into a fresh command; or
     * this command itself when there is no file.
     */
    RunCommand withConfigFile()
    {
        if (config == null)
        {
            return this;
        }
        final List<String> args;
        try
        {
            args = new ArrayList<>(ConfigFile.toArguments(config, spec));
        }
        catch (final IllegalArgumentException ex)
        {
            throw new ParameterException(spec.commandLine(), ex.getMessage(), ex);
        }
        // the options this command matched, as given (ParseResult.originalArgs() is the whole natgw command line)
        for (final OptionSpec option : spec.commandLine().getParseResult().matchedOptions())
        {
            if (option.longestName().equals("--config"))
            {
                continue;
            }
            if (option.arity().max() == 0)
            {
                args.add(option.longestName());
                continue;
            }
            for (final String value : option.originalStringValues())
            {
                args.add(option.longestName());
                args.add(value);
            }
        }
        final RunCommand merged = new RunCommand();
        final picocli.CommandLine line = new picocli.CommandLine(merged).setOverwrittenOptionsAllowed(true);
        try
        {
            line.parseArgs(args.toArray(String[]::new));
        }
        catch (final ParameterException ex)
        {
            throw new ParameterException(spec.commandLine(), "--config " + config + ": " + ex.getMessage(), ex);
        }
        merged.spec = line.getCommandSpec();
        return merged;
    }

    private Integer runGateway() throws Exception
    {
        final GatewayConfig config = toConfig();
        final GatewayHost host = new GatewayHost(config, System.out).start();
        host.awaitStop();
        return 0;
    }

    GatewayConfig toConfig()
    {
        final GatewayConfig config = new GatewayConfig();
        try
        {
            config.tun = tun;
            if (queues != null)
            {
                config.queues = queues;
            }
            final List<Cidr> cidrs = new ArrayList<>();
            for (final String c : inside)
            {
                cidrs.add(Cidr.parse(c));
            }
            config.inside = cidrs;
            if (snat == null)
            {
                throw new IllegalArgumentException("--snat: the pool is needed (sources are masqueraded to it, " +
                    "and hairpin service traffic too)");
            }
            config.pool = SnatPolicy.parsePool(snat);
            final List<natgw.core.nat.Services.ServiceSpec> specs = new ArrayList<>();
            for (final String s : service)
            {
                specs.add(natgw.core.nat.Services.ServiceSpec.parse(s));
            }
            config.services = specs;
            switch (removedBackend)
            {
                case "reset": config.resetRemovedBackendFlows = true; break;
                case "unreachable": config.resetRemovedBackendFlows = false; break;
                default: throw new IllegalArgumentException("--removed-backend must be reset or unreachable, got '" + removedBackend + "'");
            }
            config.steer = steer;
            final int[] range = SnatPolicy.parsePortRange(portRange);
            config.portLow = range[0];
            config.portHigh = range[1];
            config.portStrategy = PortStrategy.fromLabel(portStrategy);
            config.conntrackMax = conntrackMax;
            for (final String t : timeouts)
            {
                final int eq = t.indexOf('=');
                if (eq < 0)
                {
                    throw new IllegalArgumentException("--timeout wants NAME=SECONDS, got '" + t + "'");
                }
                final int seconds;
                try
                {
                    seconds = Integer.parseInt(t.substring(eq + 1).trim());
                }
                catch (final NumberFormatException ex)
                {
                    throw new IllegalArgumentException("--timeout " + t + ": seconds must be a whole number");
                }
                config.timeouts.apply(t.substring(0, eq).trim(), seconds);
            }
            config.raceWindowNs = raceWindowNs;
            config.clashResolution = !noClashResolution;
            config.mtu = mtu;
            if (busyPollUs < 0 || busyPollUs > 1_000_000)
            {
                throw new IllegalArgumentException("--busy-poll-us must be 0..1000000, got " + busyPollUs);
            }
            config.busyPollUs = busyPollUs;
            switch (offload)
            {
                case "on": config.offload = true; break;
                case "off": config.offload = false; break;
                default: throw new IllegalArgumentException("--offload must be on or off, got '" + offload + "'");
            }
            config.metricsAddress(metricsAddress);
            config.routeTable = routeTable;
            config.verifyL4Checksums = !noL4ChecksumCheck;
            if (warmupRounds < 0 || warmupRounds > 10_000_000)
            {
                throw new IllegalArgumentException("--warmup-rounds must be 0..10000000, got " + warmupRounds);
            }
            config.warmupRounds = warmupRounds;
            if (tunTxQueueLength < 0 || tunTxQueueLength > 1_000_000)
            {
                throw new IllegalArgumentException("--tun-txqueuelen must be 0..1000000, got " + tunTxQueueLength);
            }
            config.tunTxQueueLength = tunTxQueueLength;
            if (raceWindowNs < 0 || raceWindowNs > 1_000_000_000L)
            {
                throw new IllegalArgumentException("--race-window-ns must be 0..1000000000, got " + raceWindowNs);
            }
            config.validate();
        }
        catch (final IllegalArgumentException ex)
        {
            throw new ParameterException(spec.commandLine(), ex.getMessage(), ex);
        }
        return config;
    }
}
