package natgw.perf.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import natgw.perf.lab.Lab;
import natgw.perf.lab.LabProcess;
import natgw.perf.lab.Role;
import natgw.perf.load.LoadResult;
import natgw.perf.load.UdpFlood;
import natgw.perf.sys.Exec;
import natgw.perf.sys.JavaCommand;

/**
 * Bulk TCP (iperf3, {@code flows} parallel streams) and small-UDP packets per second (udpflood.c, 18-byte payloads,
 * one socket per thread from distinct client addresses), counted where they arrive: the server's {@code s0}
 * rx_packets (an nft rule drops them right there, so no receiving process competes for the CPUs). Each segment runs both tests for {@code durationS} seconds.
 */
public final class ThroughputScenario implements Scenario
{
    static final int IPERF_PORT = 5201;
    static final String SINK_TABLE = "natgw_sink";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SENT = Pattern.compile("thread \\d+ sent (\\d+)");

    private LabProcess iperfServer;
    private List<String> flooder;
    private String flooderName;

    @Override
    public String name()
    {
        return "throughput";
    }

    @Override
    public String description()
    {
        return "TCP bulk throughput (iperf3 client in the client namespace, server in the server namespace) and " +
            "small-UDP packets per second (18-byte payloads from one socket per thread, counted as rx_packets " +
            "on the server's interface). Offloads on the veths are left as the kernel sets them (TSO/GSO on); " +
            "a TUN without IFF_VNET_HDR gets segmented packets, so the kernel paths carry 64 KiB super-packets " +
            "and the TUN paths 1500-byte packets.";
    }

    @Override
    public List<String> defaultImpls()
    {
        return List.of("kernel-forward", "kernel-masq", "natgw-reserve");
    }

    @Override
    public List<String> requiredTools()
    {
        return List.of("iperf3", "nft");
    }

    @Override
    public List<String> metrics()
    {
        return List.of();
    }

    /**
     * Drops the flood at the server's ingress, before any socket: a receiving process would compete with the
     * gateway for the CPUs, and a closed port would answer each packet with ICMP. rx_packets counts it first.
     */
    static String sinkRuleset()
    {
        return "table ip " + SINK_TABLE + " {\n" +
            "  chain prerouting {\n" +
            "    type filter hook prerouting priority raw; policy accept;\n" +
            "    udp dport " + BenchRunner.UDP_SINK_PORT + " drop\n" +
            "  }\n" +
            "}\n";
    }

    @Override
    public void prepare(final BenchContext context) throws Exception
    {
        Exec.run(context.lab().inNamespace(Role.SERVER, List.of("nft", "-f", "-")), sinkRuleset(), 30_000).orThrow();
        iperfServer = context.lab().start(Role.SERVER,
            List.of("iperf3", "-s", "--forceflush", "-B", Lab.SERVER_ADDR, "-p", String.valueOf(IPERF_PORT)),
            context.logsDir().resolve("iperf3-server.log"), null);
        if (!iperfServer.awaitLine(line -> line.contains("Server listening"), 10_000))
        {
            throw new IllegalStateException("iperf3 server did not start: " + iperfServer.tail(3));
        }
        final Path source = CTools.toolsDir().resolve("udpflood.c");
        if (Files.exists(source) && Exec.onPath("gcc"))
        {
            flooder = new ArrayList<>(List.of(CTools.compile(source, context.outDir().resolve("bin")).toString()));
            flooderName = "udpflood.c (sendmmsg)";
        }
        else
        {
            flooder = JavaCommand.of(List.of(), UdpFlood.class.getName(), List.of());
            flooderName = "natgw.perf.load.UdpFlood (Java, one send per packet: " +
                (Files.exists(source) ? "gcc missing" : "udpflood.c not found at " + source) + ")";
            context.progress().message("throughput: using " + flooderName);
        }
    }

    public String flooderName()
    {
        return flooderName;
    }

    @Override
    public LoadResult runSegment(final BenchContext context, final String impl, final String segmentName,
        final int block, final int blocks) throws Exception
    {
        final BenchOptions options = context.options();
        final Lab lab = context.lab();
        final LoadResult result = new LoadResult();
        final int seconds = Math.max(1, (int)Math.ceil(options.durationS));

        context.progress().update("TCP, iperf3 -P " + options.flows + " for " + seconds + " s");
        final Exec.Result tcp = Exec.run(lab.inNamespace(Role.CLIENT, List.of("iperf3", "-c", Lab.SERVER_ADDR,
            "-p", String.valueOf(IPERF_PORT), "-t", String.valueOf(seconds), "-P", String.valueOf(options.flows),
            "-J", "--connect-timeout", "3000")), null, (seconds + 20) * 1000L);
        Files.writeString(context.logsDir().resolve(segmentName + ".iperf3.json"), tcp.stdout());
        final double[] tcpResult = parseIperf(tcp.stdout());
        if (Double.isNaN(tcpResult[0]))
        {
            result.count("errors", 1);
            result.count("error_iperf3", 1);
        }
        else
        {
            result.value("tcp_gbps", tcpResult[0] / 1e9);
            result.value("tcp_retransmits", tcpResult[1]);
        }

        context.progress().update("UDP flood for " + seconds + " s");
        final int threads = Math.min(options.threadsOrCpus(), lab.clients());
        final List<String> flood = new ArrayList<>(flooder);
        flood.addAll(List.of(Lab.SERVER_ADDR, String.valueOf(BenchRunner.UDP_SINK_PORT), String.valueOf(seconds),
            String.valueOf(threads)));
        flood.addAll(lab.clientAddresses().subList(0, threads));
        final long rxBefore = rxPackets(lab);
        final long startNs = System.nanoTime();
        final Exec.Result udp = Exec.run(lab.inNamespace(Role.CLIENT, flood), null, (seconds + 20) * 1000L);
        final double elapsedS = (System.nanoTime() - startNs) / 1e9;
        Thread.sleep(200);
        final long rxAfter = rxPackets(lab);
        long sent = 0;
        final Matcher m = SENT.matcher(udp.stdout());
        while (m.find())
        {
            sent += Long.parseLong(m.group(1));
        }
        if (!udp.ok() || sent == 0)
        {
            result.count("errors", result.count("errors") + 1);
            result.count("error_udpflood", 1);
        }
        else
        {
            final long received = rxAfter - rxBefore;
            result.value("udp_rx_kpps", received / elapsedS / 1e3);
            result.value("udp_tx_kpps", sent / elapsedS / 1e3);
            result.value("udp_delivered", (double)received / sent);
            result.count("udp_sent", sent);
            result.count("udp_received", received);
        }
        return result;
    }

    /** bits per second received and retransmits from iperf3 -J output; NaN when the test failed. */
    static double[] parseIperf(final String json)
    {
        try
        {
            final JsonNode root = JSON.readTree(json);
            final JsonNode received = root.path("end").path("sum_received");
            if (root.has("error") || received.isMissingNode())
            {
                return new double[] {Double.NaN, Double.NaN};
            }
            return new double[] {received.path("bits_per_second").asDouble(Double.NaN),
                root.path("end").path("sum_sent").path("retransmits").asDouble(0)};
        }
        catch (final Exception e)
        {
            return new double[] {Double.NaN, Double.NaN};
        }
    }

    static long rxPackets(final Lab lab)
    {
        final Exec.Result result = Exec.run("ip", "-n", lab.ns(Role.SERVER), "-s", "-j", "link", "show", "dev",
            Lab.SERVER_IF);
        try
        {
            return JSON.readTree(result.stdout()).path(0).path("stats64").path("rx").path("packets").asLong();
        }
        catch (final Exception e)
        {
            throw new IllegalStateException("cannot read rx_packets of " + Lab.SERVER_IF + ": " + result.stderr(), e);
        }
    }

    @Override
    public String throughputText(final ImplResult result)
    {
        final double gbps = result.median("tcp_gbps");
        final double kpps = result.median("udp_rx_kpps");
        return (Double.isNaN(gbps) ? "TCP failed" : String.format("%.2f Gbit/s TCP", gbps)) + ", " +
            (Double.isNaN(kpps) ? "UDP failed" : String.format("%.0f kpps UDP", kpps));
    }

    @Override
    public void finish(final BenchContext context)
    {
        if (iperfServer != null)
        {
            iperfServer.stop(2_000);
        }
        context.lab().exec(Role.SERVER, "nft", "delete", "table", "ip", SINK_TABLE);
    }
}
