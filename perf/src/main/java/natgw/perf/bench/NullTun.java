package natgw.perf.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import natgw.tun.Exec;
import natgw.tun.lab.Lab;
import natgw.tun.lab.LabProcess;
import natgw.tun.lab.Role;

/**
 * The TUN ceiling: {@code nulltun} (../shared/tools/nulltun.c) reads every packet from a multi-queue TUN and writes
 * it straight back, no NAT. It sits where natgw sits: packets arriving on {@code gi} (client to server) and on
 * {@code go} (server to client) are routed into the TUN, and what comes back out is forwarded by the kernel. No NAT,
 * so the server routes the inside subnet back via the gateway, as for {@link KernelForward}.
 * The ratio natgw/nulltun is how much of the TUN path's capacity the NAT work costs.
 *
 * <p>Two modes, as natgw has: {@code nulltun} reads one MTU-sized packet at a time (the kernel segments TSO/GSO
 * super-packets before the TUN), {@code nulltun-offload} runs nulltun.c {@code -v}: {@code IFF_VNET_HDR} and
 * {@code TUNSETOFFLOAD}, so super-packets cross the TUN whole. natgw with offloads is judged against the second,
 * natgw {@code --offload off} against the first ({@link #sameModeTun()}).
 */
public final class NullTun implements Implementation
{
    static final String TABLE = "77";
    static final String RULE_PREF_IN = "1077";
    static final String RULE_PREF_OUT = "1078";

    public static final String NAME = "nulltun";
    public static final String OFFLOAD_NAME = "nulltun-offload";

    private final Path binaryOrSource;
    private final boolean offload;
    private Path binary;

    /** nulltun without offloads. */
    public NullTun(final Path binaryOrSource)
    {
        this(binaryOrSource, false);
    }

    /** nulltun, with the virtio-net header and offloads ({@code -v}) when {@code offload}. */
    public NullTun(final Path binaryOrSource, final boolean offload)
    {
        this.binaryOrSource = binaryOrSource;
        this.offload = offload;
    }

    @Override
    public String name()
    {
        return offload ? OFFLOAD_NAME : NAME;
    }

    @Override
    public String description()
    {
        return offload ?
            "nulltun -v (TUN read/write back, no NAT; IFF_VNET_HDR, TUNSETOFFLOAD checksum and TSO, and USO when " +
            "the kernel grants nulltun.c's request: the UDP GSO test's segments per packet shows it): the ceiling " +
            "of the TUN path with offloads" :
            "nulltun (TUN read/write back, no NAT, no offloads): the TUN path's ceiling";
    }

    @Override
    public String sameModeTun()
    {
        return name();
    }

    /** The nulltun arguments after the binary. */
    List<String> arguments(final int queues)
    {
        final List<String> args = new ArrayList<>();
        if (offload)
        {
            args.add("-v");
        }
        args.addAll(List.of("-q", String.valueOf(queues), Lab.TUN_NAME));
        return args;
    }

    @Override
    public List<String> requiredTools()
    {
        return binaryOrSource.toString().endsWith(".c") ? List.of("gcc") : List.of();
    }

    private synchronized Path binary(final BenchContext context)
    {
        if (binary == null)
        {
            if (!Files.exists(binaryOrSource))
            {
                throw new Unavailable("nulltun not found at " + binaryOrSource);
            }
            binary = binaryOrSource.toString().endsWith(".c") ?
                CTools.compile(binaryOrSource, context.outDir().resolve("bin")) : binaryOrSource.toAbsolutePath();
        }
        return binary;
    }

    @Override
    public Session activate(final BenchContext context, final String segmentName) throws Exception
    {
        final Lab lab = context.lab();
        final GatewayState before = GatewayState.capture(lab);
        final int queues = context.options().queues > 0 ? context.options().queues :
            Runtime.getRuntime().availableProcessors();
        final List<String> command = new ArrayList<>(List.of(binary(context).toString()));
        command.addAll(arguments(queues));
        final LabProcess process = lab.start(Role.GW, command, context.logsDir().resolve(segmentName + ".nulltun.log"),
            null);
        final long deadlineNs = System.nanoTime() + 5_000_000_000L;
        while (!lab.exec(Role.GW, "ip", "link", "show", Lab.TUN_NAME).ok())
        {
            if (!process.isAlive() || System.nanoTime() > deadlineNs)
            {
                process.stop(1_000);
                throw new Unavailable(name() + " did not create " + Lab.TUN_NAME + ": " + process.tail(3));
            }
            Thread.sleep(20);
        }
        LinkStats.setTxqueuelen(lab, context.options().tunTxqueuelen);
        final String gw = lab.ns(Role.GW);
        Exec.run(List.of("ip", "-n", gw, "-batch", "-"),
            "link set " + Lab.TUN_NAME + " up\n" +
            "route add default dev " + Lab.TUN_NAME + " table " + TABLE + "\n" +
            "rule add pref " + RULE_PREF_IN + " iif " + Lab.GW_INSIDE_IF + " lookup " + TABLE + "\n" +
            "rule add pref " + RULE_PREF_OUT + " iif " + Lab.GW_OUTSIDE_IF + " lookup " + TABLE + "\n", 10_000).orThrow();
        lab.exec(Role.GW, "sh", "-c", "echo 0 > /proc/sys/net/ipv4/conf/all/rp_filter; " +
            "echo 0 > /proc/sys/net/ipv4/conf/" + Lab.TUN_NAME + "/rp_filter").orThrow();
        lab.exec(Role.SERVER, "ip", "route", "add", Lab.INSIDE_CIDR, "via", Lab.GW_OUTSIDE_ADDR).orThrow();
        final List<String> notes = new ArrayList<>();
        return new Session()
        {
            @Override
            public Map<String, Long> counters()
            {
                return LinkStats.tunDrops(lab);
            }

            @Override
            public List<String> notes()
            {
                return notes;
            }

            @Override
            public void close()
            {
                lab.exec(Role.SERVER, "ip", "route", "del", Lab.INSIDE_CIDR, "via", Lab.GW_OUTSIDE_ADDR);
                process.stop(2_000);
                GatewayState.capture(lab).restore(lab, before);
            }
        };
    }
}
