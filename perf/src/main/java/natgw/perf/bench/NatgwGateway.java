package natgw.perf.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import natgw.tun.CommandResult;
import natgw.tun.Exec;
import natgw.tun.lab.Lab;
import natgw.tun.lab.LabProcess;
import natgw.tun.lab.Role;

/**
 * natgw itself, started in the gateway namespace with the lab's command line and one {@code --port-strategy}:
 * <pre>
 * ip netns exec P-gw natgw run --tun ngw0 --inside 10.77.1.0/24 --snat 10.77.2.100 --steer gi \
 *     --port-strategy S [--queues N]
 * </pre>
 * plus one {@code --service} per service of a DNAT scenario ({@link BenchContext#services()}) and the
 * implementation's own flags (natgw-kernel-no-clash: {@code --no-clash-resolution}; natgw-reserve-no-offload:
 * {@code --offload off}, without which natgw runs with its default, offloads on).
 * Ready when it prints {@code natgw: running}; counters from {@code natgw conntrack -S}; services changed with
 * {@code natgw service set|del}; stopped with SIGTERM, after which the gateway namespace must be as before (anything
 * left is noted in the report and removed).
 */
public final class NatgwGateway implements Implementation
{
    public static final String READY = "natgw: running";
    static final long START_TIMEOUT_MS = 60_000;
    static final long STOP_TIMEOUT_MS = 10_000;
    /** natgw as before issue 13: no virtio-net header, every packet read is at most one MTU. */
    public static final List<String> OFFLOAD_OFF = List.of("--offload", "off");
    private static final Pattern OFFLOADS = Pattern.compile("offloads (vnet header only|[a-z0-9_]+(?:,[a-z0-9_]+)*)");

    private final String name;
    private final String strategy;
    private final List<String> flags;

    public NatgwGateway(final String strategy)
    {
        this("natgw-" + strategy, strategy, List.of());
    }

    /** natgw with a port strategy and more {@code natgw run} flags, under its own name. */
    public NatgwGateway(final String name, final String strategy, final List<String> flags)
    {
        this.name = name;
        this.strategy = strategy;
        this.flags = List.copyOf(flags);
    }

    @Override
    public String name()
    {
        return name;
    }

    @Override
    public String description()
    {
        return "natgw `run --port-strategy " + strategy + (flags.isEmpty() ? "" : " " + String.join(" ", flags)) +
            "` (TUN, userspace conntrack" + (offloadOff(flags) ? ")" : "; offloads as natgw's default, on)");
    }

    /** natgw runs with offloads unless told {@code --offload off}; nulltun in the same mode is its ceiling. */
    @Override
    public String sameModeTun()
    {
        return offloadOff(flags) ? NullTun.NAME : NullTun.OFFLOAD_NAME;
    }

    static boolean offloadOff(final List<String> flags)
    {
        return Collections.indexOfSubList(flags, OFFLOAD_OFF) >= 0;
    }

    /** The natgw arguments for the lab, after the natgw command itself. */
    public List<String> runArguments(final int queues)
    {
        return runArguments(queues, List.of(), null);
    }

    /** The natgw arguments for the lab with these DNAT services, and the source NAT's ports ({@code natPorts}, or null). */
    public List<String> runArguments(final int queues, final List<LabService> services, final String natPorts)
    {
        // --fresh: each measurement starts with an empty table, whatever the run before it left in the state file
        final List<String> args = new ArrayList<>(List.of("run", "--fresh", "--tun", Lab.TUN_NAME, "--inside", Lab.INSIDE_CIDR,
            "--snat", Lab.POOL_ADDR, "--steer", Lab.GW_INSIDE_IF, "--port-strategy", strategy));
        args.addAll(flags);
        if (queues > 0)
        {
            args.add("--queues");
            args.add(String.valueOf(queues));
        }
        for (final LabService service : services)
        {
            args.add("--service");
            args.add(service.natgwSpec());
        }
        if (natPorts != null)
        {
            args.add("--port-range");
            args.add(natPorts);
        }
        return args;
    }

    /**
     * The offloads natgw says it got from TUNSETOFFLOAD at start ({@code natgw: running on ngw0 with 2 queue(s),
     * offloads csum,tso4,tso6,tso_ecn,uso4,uso6, pool ...}: that list, {@code off}, {@code vnet header only}), or null
     * when it printed none (a build before issue 13).
     */
    static String offloads(final List<String> lines)
    {
        for (final String line : lines)
        {
            final Matcher m = OFFLOADS.matcher(line);
            if (m.find())
            {
                return m.group(1);
            }
        }
        return null;
    }

    @Override
    public Session activate(final BenchContext context, final String segmentName) throws Exception
    {
        final Lab lab = context.lab();
        final GatewayState before = GatewayState.capture(lab);
        final List<String> command = new ArrayList<>(context.natgwCommand());
        command.addAll(runArguments(context.options().queues, context.services(), context.natPorts()));
        final Path log = context.logsDir().resolve(segmentName + ".natgw.log");
        final LabProcess process = lab.start(Role.GW, command, log, null);
        if (!process.awaitLine(line -> line.contains(READY), START_TIMEOUT_MS))
        {
            final boolean alive = process.isAlive();
            process.stop(2_000);
            GatewayState.capture(lab).restore(lab, before);
            throw new Unavailable("natgw did not print '" + READY + "' " +
                (alive ? "within " + START_TIMEOUT_MS / 1000 + " s" : "and exited") + ": " +
                process.tail(3).replace('\n', ' ').strip());
        }
        LinkStats.setTxqueuelen(lab, context.options().tunTxqueuelen);
        final List<String> notes = new ArrayList<>();
        // the kernel may accept less than natgw asks for (USO needs Linux 6.2)
        final String offloads = offloads(process.lines());
        notes.add("offloads in force: " + (offloads == null ? "not printed (natgw before --offload)" : offloads));
        return new ServiceSession()
        {
            @Override
            public Map<String, Long> counters()
            {
                if (!context.services().isEmpty())
                {
                    // per-backend evidence (new connections, SYN resets, ...) next to the logs
                    final List<String> list = new ArrayList<>(context.natgwCommand());
                    list.add("services");
                    try
                    {
                        Files.writeString(context.logsDir().resolve(segmentName + ".services.txt"),
                            lab.exec(Role.GW, list).stdout());
                    }
                    catch (final IOException e)
                    {
                        notes.add("cannot save natgw services: " + e.getMessage());
                    }
                }
                final List<String> stats = new ArrayList<>(context.natgwCommand());
                stats.addAll(List.of("conntrack", "-S"));
                final CommandResult result = lab.exec(Role.GW, stats);
                final Map<String, Long> counters = ConntrackStats.parseStatLines(result.stdout());
                if (!result.ok() || counters.isEmpty())
                {
                    final String why = (result.stderr() + result.stdout()).strip();
                    notes.add("natgw conntrack -S gave no counters: " +
                        why.lines().findFirst().orElse("exit " + result.exitCode()));
                }
                counters.putAll(LinkStats.tunDrops(lab));
                return counters;
            }

            @Override
            public List<String> notes()
            {
                return notes;
            }

            @Override
            public void drain(final LabService service, final String backend)
            {
                control("set", service.key(), backend, "weight", "0");
            }

            @Override
            public void remove(final LabService service, final String backend)
            {
                control("del", service.key(), backend);
            }

            private void control(final String... words)
            {
                final List<String> cmd = new ArrayList<>(context.natgwCommand());
                cmd.add("service");
                cmd.addAll(List.of(words));
                lab.exec(Role.GW, cmd).orThrow();
            }

            @Override
            public void close()
            {
                final int exit = process.stop(STOP_TIMEOUT_MS);
                if (exit != 0 && exit != 143)
                {
                    notes.add("natgw exited with " + exit + " after SIGTERM (log: logs/" + log.getFileName() + ")");
                }
                if (context.options().checkLeftovers)
                {
                    final GatewayState after = GatewayState.capture(lab);
                    final List<String> leftovers = after.leftoversSince(before);
                    if (!leftovers.isEmpty())
                    {
                        notes.add("natgw left behind after SIGTERM: " + String.join("; ", leftovers));
                        after.restore(lab, before);
                    }
                }
            }
        };
    }
}
