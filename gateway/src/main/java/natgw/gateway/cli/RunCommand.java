package natgw.gateway.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import java.util.regex.Pattern;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import natgw.core.conntrack.Timeouts;
import natgw.core.nat.Cidr;
import natgw.core.nat.EndpointDependence;
import natgw.core.nat.PortStrategy;
import natgw.core.nat.SnatPolicy;
import natgw.gateway.GatewayConfig;
import natgw.gateway.GatewayHost;
import natgw.tun.HostNetwork;
import natgw.tun.StateFileLocation;
import natgw.tun.TunSteering;

@Command(
    name = "run",
    // picocli's generated synopsis of 24 options breaks inside CIDR[,CIDR...]; these are the ones to know
    customSynopsis = {
        "natgw run --inside CIDR[,CIDR...] --snat ADDR[,ADDR...]|CIDR [OPTIONS]",
        "       natgw run --config FILE [OPTIONS]",
    },
    description = {
        "Run the gateway: SNAT (masquerade) of inside sources to a pool, and DNAT services.",
        "Connection tracking is race-free: a new connection's NAT tuple is reserved before its packet is " +
            "rewritten. Needs root or CAP_NET_ADMIN. Every route, rule, neighbour entry and sysctl it sets is " +
            "undone on exit, on SIGINT/SIGTERM and on a fatal error. Connections live in a state file under /run/natgw: " +
            "natgw run again on the same TUN, after a crash or a stop, carries them on with the same mappings.",
    },
    footerHeading = "%nExamples:%n",
    footer = {
        "  natgw run --inside 172.18.0.0/16 --snat 192.0.2.10 --steer br0",
        "  natgw run --config /etc/natgw/natgw.conf",
        "  natgw run --inside 10.77.1.0/24 --snat 10.77.2.100 --steer gi \\",
        "      --service tcp:10.77.3.10:80=10.77.2.11:8080,10.77.2.12:8080",
        "",
        "The config file and services: docs/CONFIG.md.",
    },
    mixinStandardHelpOptions = true,
    sortOptions = false)
public final class RunCommand implements Callable<Integer>
{
    /** What both a TUN device (IFNAMSIZ) and its undo journal's file name accept. */
    private static final Pattern DEVICE_NAME = Pattern.compile("[A-Za-z0-9_.-]{1,15}");

    @Spec
    CommandSpec spec;

    /**
     * Where each value of an option came from when the config file gave it ({@code --inside} -> FILE:LINE
     * per value), so that a bad value is refused with its line; an option not in here came from the command
     * line.
     */
    private Map<String, List<String>> fromFile = Map.of();

    @Option(names = "--tun", paramLabel = "NAME", description = "TUN device; created if missing, removed on exit if created (default: ${DEFAULT-VALUE})")
    String tun = "natgw0";

    @Option(names = "--queues", paramLabel = "N", description = "TUN queues, one worker thread each (default: number of CPUs)")
    Integer queues;

    @Option(names = "--config", paramLabel = "FILE",
        description = "settings file: one 'option value' (or 'option = value') per line; the command line wins " +
            "(see docs/CONFIG.md)")
    java.nio.file.Path config;

    @Option(names = "--inside", paramLabel = "CIDR", split = ",", description = "sources that get SNAT; repeatable")
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

    @Option(names = "--pooling", paramLabel = "arbitrary|paired",
        description = "with several pool addresses: arbitrary, the address depends on the source and the destination " +
            "(Linux's default); paired, an inside address always gets the same one (RFC 4787 REQ-2, nftables' " +
            "persistent) (default: ${DEFAULT-VALUE})")
    String pooling = "arbitrary";

    @Option(names = "--mapping", paramLabel = "endpoint-independent|address-and-port-dependent",
        description = "RFC 4787 mapping: endpoint-independent, an inside ip:port keeps one external port for every " +
            "destination, and no two inside endpoints share one (the default with --port-strategy reserve); " +
            "address-and-port-dependent, a port per destination, as Linux (the kernel strategies' only one)")
    String mapping;

    @Option(names = "--filtering", paramLabel = "endpoint-independent|address-dependent|address-and-port-dependent",
        description = "RFC 4787 filtering of packets from outside to a live endpoint-independent mapping: " +
            "endpoint-independent, any outside host reaches the inside endpoint (\"full cone\"); address-dependent, " +
            "any port of an address the inside endpoint has a connection to; address-and-port-dependent, only the " +
            "endpoints it talks to, as Linux (default: ${DEFAULT-VALUE}); refused packets are dropped and counted " +
            "(filtered), see --filtered-reply")
    String filtering = "address-and-port-dependent";

    @Option(names = "--filtered-reply", paramLabel = "drop|reject",
        description = "what a packet the filtering refuses gets: drop (default: ${DEFAULT-VALUE}), or reject: a TCP RST " +
            "or an ICMP administratively prohibited to its sender (answering a SYN breaks RFC 5382 REQ-4, which asks " +
            "for silence so that simultaneous open works); counted as filtered either way")
    String filteredReply = "drop";

    @Option(names = "--conntrack-max", paramLabel = "N", description = "connection table capacity (default: ${DEFAULT-VALUE}); the whole table, about 128 bytes per connection, is allocated at start, in huge pages where the kernel has them")
    int conntrackMax = 262_144;

    @Option(names = "--fragment-limit", paramLabel = "N",
        description = "IPv4 fragments held at once while they wait for their datagram's first fragment, all sources " +
            "(default: ${DEFAULT-VALUE}); each held in a buffer of one MTU, allocated at start")
    int fragmentLimit = GatewayConfig.DEFAULT_FRAGMENT_LIMIT;

    @Option(names = "--fragment-source-limit", paramLabel = "N",
        description = "fragments held at once per source address (default: ${DEFAULT-VALUE})")
    int fragmentSourceLimit = GatewayConfig.DEFAULT_FRAGMENT_SOURCE_LIMIT;

    @Option(names = "--fragment-timeout", paramLabel = "SECONDS",
        description = "how long a datagram's fragments are tracked from the first that came (default: ${DEFAULT-VALUE}, " +
            "Linux's ipfrag_time); a held fragment whose first fragment did not come by then is dropped")
    int fragmentTimeoutS = 30;

    @Option(names = "--fresh",
        description = "start the flow state empty: forget the connections a previous natgw on this TUN left in its state " +
            "file (/run/natgw/TUN@netns-INODE.state), which a run otherwise carries on, and overwrite a file written " +
            "with other settings (--conntrack-max, --snat, --port-range, --service), which is otherwise refused")
    boolean fresh;

    @Option(names = "--timeouts", paramLabel = "linux|rfc",
        description = "timer preset, before any --timeout: linux (Linux's defaults), or rfc: no timer below what the NAT " +
            "RFCs require (UDP 120 s, replied UDP 300 s, TCP opening or closing 240 s, ICMP 60 s; RFC 4787, 5382, 5508) " +
            "(default: ${DEFAULT-VALUE})")
    String timeoutPreset = "linux";

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

    @Option(names = "--queue-steering", paramLabel = "ports|flows|connections|kernel",
        description = "which worker reads a packet, with several queues: ports (an eBPF program, TUNSETSTEERINGEBPF: the " +
            "hashed sum of the two ports, a SYN's addresses added; so both directions of a connection go to one worker, and " +
            "nothing is hashed per packet written), flows (the same program, but a packet not to the pool adds its " +
            "addresses unless its endpoint kept its port: many clients' connections from one port to one server " +
            "spread over the workers), connections (every TCP or UDP packet by the queue the worker that made its " +
            "connection wrote into a BPF map for the reply tuple, else by its flow: a connection stays on that worker both " +
            "ways whatever port NAT gave it) or kernel (its automatic flow steering); a kernel that refuses flows or " +
            "connections gets ports, one that refuses any program its own steering, and natgw says so (default: " +
            "${DEFAULT-VALUE})")
    String queueSteering = "connections";

    @Option(names = "--fail-open",
        description = "with --steer: no blackhole route behind the TUN's, so while no natgw runs (killed, restarting) " +
            "the steered traffic is routed on UNTRANSLATED, with inside source addresses; by default it is dropped " +
            "until natgw runs again or natgw cleanup restores the host")
    boolean failOpen;

    @Option(names = "--busy-poll-us", paramLabel = "US",
        description = "an idle worker keeps reading for US microseconds before it sleeps in poll(2): the next " +
            "packet of a burst is taken without a scheduler wake-up, at the price of a core busy that long " +
            "(default: ${DEFAULT-VALUE})")
    int busyPollUs = 0;

    @Option(names = "--worker-slice-us", paramLabel = "US",
        description = "each worker asks Linux's scheduler (6.12 and later) for a slice of US microseconds, " +
            "100 to 100000: woken by a packet, it preempts the thread running on its CPU sooner, with the same " +
            "share of CPU time; 0 keeps the kernel's slice (default: ${DEFAULT-VALUE})")
    int workerSliceUs = GatewayConfig.DEFAULT_WORKER_SLICE_US;

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
    int tunTxQueueLength = GatewayConfig.DEFAULT_TUN_TX_QUEUE_LENGTH;

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
        final List<ConfigFile.Setting> settings;
        try
        {
            settings = ConfigFile.read(config, spec);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new ParameterException(spec.commandLine(), ex.getMessage(), ex);
        }
        final List<String> args = new ArrayList<>();
        for (final ConfigFile.Setting setting : settings)
        {
            args.add(setting.option());
            if (setting.value() != null)
            {
                args.add(setting.value());
            }
        }
        // the options this command matched, as given (ParseResult.originalArgs() is the whole natgw command line)
        final List<String> given = new ArrayList<>();
        for (final OptionSpec option : spec.commandLine().getParseResult().matchedOptions())
        {
            if (option.longestName().equals("--config"))
            {
                continue;
            }
            given.add(option.longestName());
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
            throw new ParameterException(spec.commandLine(), "--config " + config + ": " + Messages.usage(ex), ex);
        }
        // refusals name this command (natgw run), not the private one the file was parsed with
        merged.spec = spec;
        merged.fromFile = origins(settings, line.getCommandSpec(), given);
        return merged;
    }

    /** For each option the file set: the FILE:LINE of each of its values, in the order the option holds them. */
    private static Map<String, List<String>> origins(
        final List<ConfigFile.Setting> settings, final CommandSpec spec, final List<String> givenOnCommandLine)
    {
        final Map<String, List<String>> origins = new HashMap<>();
        for (final ConfigFile.Setting setting : settings)
        {
            final OptionSpec option = spec.findOption(setting.option());
            final List<String> where = origins.computeIfAbsent(option.longestName(), k -> new ArrayList<>());
            if (!option.isMultiValue())
            {
                where.clear(); // a later line wins
            }
            final int values = setting.value() == null || option.splitRegex().isEmpty() ? 1 :
                setting.value().split(option.splitRegex(), -1).length;
            for (int v = 0; v < values; v++)
            {
                where.add(setting.where());
            }
        }
        for (final String name : givenOnCommandLine)
        {
            if (!spec.findOption(name).isMultiValue())
            {
                origins.remove(name); // the command line's value won
            }
        }
        return origins;
    }

    /** "--inside" for a value from the command line, "FILE:LINE: inside" for one from the config file. */
    private String where(final String flag, final int index)
    {
        final List<String> lines = fromFile.get(flag);
        return lines != null && index < lines.size() ? lines.get(index) + ": " + flag.substring(2) : flag;
    }

    /** A "--FLAG: ..." refusal of a single-valued option, with the config file's line if the value came from there. */
    private String located(final String message)
    {
        final int colon = message.indexOf(':');
        if (!message.startsWith("--") || colon < 0)
        {
            return message;
        }
        final String flag = message.substring(0, colon);
        final OptionSpec option = spec == null ? null : spec.findOption(flag);
        return option == null || option.isMultiValue() ? message : where(flag, 0) + message.substring(colon);
    }

    /** {@code parser}'s refusal of value {@code index} of {@code flag}, as "--FLAG: why; FIX" (or FILE:LINE). */
    private <T> T value(final String flag, final int index, final String fix, final Supplier<T> parser)
    {
        try
        {
            return parser.get();
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IllegalArgumentException(where(flag, index) + ": " + ex.getMessage() +
                (fix.isEmpty() ? "" : "; " + fix), ex);
        }
    }

    /** A two-way choice: true for {@code yes}, false for {@code no}, refused naming both otherwise. */
    private static boolean either(final String flag, final String value, final String yes, final String no)
    {
        if (value.equals(yes) || value.equals(no))
        {
            return value.equals(yes);
        }
        throw new IllegalArgumentException(flag + ": '" + value + "' is neither " + yes + " nor " + no + "; give one of them");
    }

    private Integer runGateway() throws Exception
    {
        final GatewayConfig config = toConfig();
        // before anything changes on the host: the privilege, then the interfaces named
        GatewayHost.requirePrivileges();
        final List<String> present = HostNetwork.interfaceNames();
        for (int i = 0; i < config.steer().size(); i++)
        {
            if (!present.contains(config.steer().get(i)))
            {
                throw new ParameterException(spec.commandLine(),
                    where("--steer", i) + ": " + GatewayHost.noSuchInterface(config.steer().get(i), present));
            }
        }
        final GatewayHost host = new GatewayHost(config, System.out).start();
        host.awaitStop();
        return 0;
    }

    GatewayConfig toConfig()
    {
        final GatewayConfig config = new GatewayConfig();
        try
        {
            if (!DEVICE_NAME.matcher(tun).matches() || tun.equals(".") || tun.equals(".."))
            {
                throw new IllegalArgumentException("--tun: '" + tun + "' cannot be a device name; give 1 to 15 " +
                    "letters, digits, '_', '.' or '-'");
            }
            config.tun(tun);
            if (queues != null)
            {
                config.queues(queues);
            }
            if (inside.isEmpty() && service.isEmpty() && snat == null)
            {
                throw new IllegalArgumentException("--inside, --snat: missing; say which sources to masquerade to " +
                    "which pool, e.g. natgw run --inside 172.18.0.0/16 --snat 192.0.2.10 --steer br0");
            }
            final List<Cidr> cidrs = new ArrayList<>();
            for (int i = 0; i < inside.size(); i++)
            {
                final String cidr = inside.get(i);
                cidrs.add(value("--inside", i, "write ADDR/LEN, e.g. 172.18.0.0/16", () -> Cidr.parse(cidr)));
            }
            config.inside(cidrs);
            if (snat == null)
            {
                throw new IllegalArgumentException("--snat: missing; give the pool the sources are masqueraded to " +
                    "(hairpin service traffic too), e.g. --snat 192.0.2.10");
            }
            config.pool(value("--snat", 0, "give ADDR[,ADDR...] or a CIDR, e.g. 192.0.2.10 or 192.0.2.8/29",
                () -> SnatPolicy.parsePool(snat)));
            final List<natgw.core.nat.Services.ServiceSpec> specs = new ArrayList<>();
            for (int i = 0; i < service.size(); i++)
            {
                final String s = service.get(i);
                specs.add(value("--service", i, "e.g. tcp:10.96.0.10:80=172.18.0.5:8080,172.18.0.6:8080",
                    () -> natgw.core.nat.Services.ServiceSpec.parse(s)));
            }
            config.services(specs);
            config.resetRemovedBackendFlows(either("--removed-backend", removedBackend, "reset", "unreachable"));
            config.steer(steer);
            final int[] range = value("--port-range", 0, "", () -> SnatPolicy.parsePortRange(portRange));
            config.portLow(range[0]);
            config.portHigh(range[1]);
            config.portStrategy(value("--port-strategy", 0, "", () -> PortStrategy.fromLabel(portStrategy)));
            config.pairedPooling(either("--pooling", pooling, "paired", "arbitrary"));
            if (mapping != null)
            {
                config.mapping(value("--mapping", 0, "", () -> EndpointDependence.fromLabel(mapping)));
            }
            config.filtering(value("--filtering", 0, "", () -> EndpointDependence.fromLabel(filtering)));
            config.rejectFiltered(either("--filtered-reply", filteredReply, "reject", "drop"));
            config.conntrackMax(conntrackMax);
            config.stateFile(StateFileLocation.forTun(tun));
            config.fresh(fresh);
            config.timeouts(value("--timeouts", 0, "", () -> Timeouts.preset(timeoutPreset)));
            for (int i = 0; i < timeouts.size(); i++)
            {
                final String t = timeouts.get(i);
                final int eq = t.indexOf('=');
                if (eq < 0)
                {
                    throw new IllegalArgumentException(where("--timeout", i) + ": '" + t + "' is not NAME=SECONDS; " +
                        "e.g. udp=30");
                }
                final int seconds;
                try
                {
                    seconds = Integer.parseInt(t.substring(eq + 1).trim());
                }
                catch (final NumberFormatException ex)
                {
                    throw new IllegalArgumentException(where("--timeout", i) + ": '" + t + "': SECONDS must be a " +
                        "whole number, e.g. udp=30");
                }
                value("--timeout", i, "", () ->
                {
                    config.timeouts().apply(t.substring(0, eq).trim(), seconds);
                    return null;
                });
            }
            config.raceWindowNs(raceWindowNs);
            config.clashResolution(!noClashResolution);
            config.mtu(mtu);
            config.busyPollUs(busyPollUs);
            config.workerSliceUs(workerSliceUs);
            config.failOpen(failOpen);
            config.offload(either("--offload", offload, "on", "off"));
            config.queueSteering(TunSteering.parse("--queue-steering", queueSteering));
            config.metricsAddress(metricsAddress);
            config.routeTable(routeTable);
            config.verifyL4Checksums(!noL4ChecksumCheck);
            config.warmupRounds(warmupRounds);
            config.tunTxQueueLength(tunTxQueueLength);
            config.fragmentLimit(fragmentLimit);
            config.fragmentSourceLimit(fragmentSourceLimit);
            config.fragmentTimeoutS(fragmentTimeoutS);
            config.conclude();
        }
        catch (final IllegalArgumentException ex)
        {
            throw new ParameterException(spec.commandLine(), located(ex.getMessage()), ex);
        }
        return config;
    }
}
