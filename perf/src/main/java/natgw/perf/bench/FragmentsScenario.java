package natgw.perf.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import natgw.perf.load.LoadResult;
import natgw.perf.load.UdpFlood;
import natgw.tun.CommandResult;
import natgw.tun.Exec;
import natgw.tun.lab.JavaCommand;
import natgw.tun.lab.Lab;
import natgw.tun.lab.Role;

/**
 * Fragmented UDP: datagrams larger than the lab's 1500-byte MTU ({@code --fragment-payload} bytes, 3000 by default:
 * three fragments each), sent by one socket per thread from distinct client addresses; the client's stack cuts them,
 * the gateway translates each fragment (natgw: the first by its connection, the later ones by their datagram's
 * train), and the server's {@code s0} counts them as they arrive, where an nft rule drops every UDP packet before
 * any reassembly or socket. Fragments per second and the payload's Gbit/s are what arrived.
 */
public final class FragmentsScenario implements Scenario
{
    static final String SINK_TABLE = "natgw_fragment_sink";
    /** IPv4 header bytes each fragment carries, and the UDP header in the first. */
    private static final int IP_HEADER = 20;
    private static final int UDP_HEADER = 8;
    /** Bytes s0 counts per fragment besides the IP payload: Ethernet 14 and the IPv4 header. */
    private static final int FRAME_OVERHEAD = 14 + IP_HEADER;
    private static final int MTU = 1500;

    @Override
    public String name()
    {
        return "fragments";
    }

    @Override
    public String description()
    {
        return "Fragmented UDP: datagrams of --fragment-payload bytes (above the lab's 1500-byte MTU) from one socket " +
            "per thread and client address (natgw.perf.load.UdpFlood, one send per datagram), cut by the client's " +
            "stack; every fragment is translated by the gateway and counted on the server's interface (rx), where an " +
            "nft rule drops UDP before reassembly. Fragments per second and payload Gbit/s as received.";
    }

    @Override
    public List<String> defaultImpls()
    {
        return List.of("kernel-masq", "natgw-reserve");
    }

    @Override
    public List<String> requiredTools()
    {
        return List.of("nft");
    }

    @Override
    public List<String> metrics()
    {
        return List.of();
    }

    @Override
    public List<ScenarioResult.Figure> figures(final BenchOptions options)
    {
        return List.of(
            new ScenarioResult.Figure("UDP " + options.fragmentPayload + "-byte datagrams", "frag_gbps", "Gbit/s"),
            new ScenarioResult.Figure("fragments", "frag_rx_kpps", "kpps"));
    }

    /** Every fragment carries the UDP protocol number: the rule matches later fragments too, with no reassembly. */
    static String sinkRuleset()
    {
        return "table ip " + SINK_TABLE + " {\n" +
            "  chain prerouting {\n" +
            "    type filter hook prerouting priority raw; policy accept;\n" +
            "    ip protocol udp drop\n" +
            "  }\n" +
            "}\n";
    }

    /** Fragments a datagram of {@code payload} bytes becomes at the lab's MTU. */
    static int fragmentsPerDatagram(final int payload)
    {
        final int perFragment = (MTU - IP_HEADER) & ~7;
        return (payload + UDP_HEADER + perFragment - 1) / perFragment;
    }

    public static void validate(final BenchOptions options)
    {
        if (options.fragmentPayload <= MTU - IP_HEADER - UDP_HEADER || options.fragmentPayload > 65507)
        {
            throw new IllegalArgumentException("--fragment-payload must be " + (MTU - IP_HEADER - UDP_HEADER + 1) +
                " to 65507 bytes (more than one fragment at the lab's 1500-byte MTU), not " + options.fragmentPayload);
        }
    }

    @Override
    public void prepare(final BenchContext context) throws Exception
    {
        validate(context.options());
        Exec.run(context.lab().inNamespace(Role.SERVER, List.of("nft", "-f", "-")), sinkRuleset(), 30_000).orThrow();
    }

    @Override
    public LoadResult runSegment(final BenchContext context, final String impl, final String segmentName,
        final int block, final int blocks) throws Exception
    {
        final Lab lab = context.lab();
        final BenchOptions options = context.options();
        final int seconds = Math.max(1, (int)Math.ceil(options.durationS));
        final int threads = Math.min(options.threadsOrCpus(), lab.clients());
        context.progress().update("fragmented UDP for " + seconds + " s");
        final List<String> args = new ArrayList<>(List.of(Lab.SERVER_ADDR, String.valueOf(BenchRunner.UDP_SINK_PORT),
            String.valueOf(seconds), String.valueOf(threads)));
        args.addAll(lab.clientAddresses().subList(0, threads));
        final List<String> flood = JavaCommand.of(List.of("-D" + UdpFlood.PAYLOAD_PROPERTY + "=" + options.fragmentPayload),
            UdpFlood.class.getName(), args);
        final long[] before = ThroughputScenario.rx(lab);
        final long startNs = System.nanoTime();
        final CommandResult udp = Exec.run(lab.inNamespace(Role.CLIENT, flood), null, (seconds + 30) * 1000L);
        final double elapsedS = (System.nanoTime() - startNs) / 1e9;
        Thread.sleep(200);
        final long[] after = ThroughputScenario.rx(lab);
        final LoadResult result = new LoadResult();
        final long sent = ThroughputScenario.sent(udp.stdout());
        if (!udp.ok() || sent == 0)
        {
            result.count("errors", 1);
            result.count("error_flood", 1);
            return result;
        }
        final long fragments = after[0] - before[0];
        final long payloadBytes = Math.max(0, after[1] - before[1] - fragments * FRAME_OVERHEAD);
        final long sentFragments = sent * fragmentsPerDatagram(options.fragmentPayload);
        result.value("frag_rx_kpps", fragments / elapsedS / 1e3);
        result.value("frag_gbps", payloadBytes * 8.0 / elapsedS / 1e9);
        result.value("frag_delivered", sentFragments == 0 ? 0 : (double)fragments / sentFragments);
        result.count("datagrams_sent", sent);
        result.count("fragments_received", fragments);
        return result;
    }

    @Override
    public String throughputText(final ImplResult result)
    {
        final double kpps = result.median("frag_rx_kpps");
        if (Double.isNaN(kpps))
        {
            return "fragmented UDP failed";
        }
        return String.format(Locale.ROOT, "%.0f kfragments/s, %.2f Gbit/s, %.0f%% of the fragments sent arrived", kpps,
            result.median("frag_gbps"), 100 * result.median("frag_delivered"));
    }

    @Override
    public void finish(final BenchContext context)
    {
        context.lab().exec(Role.SERVER, "nft", "delete", "table", "ip", SINK_TABLE);
    }
}
