package natgw.perf.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import natgw.perf.load.LoadResult;
import natgw.perf.load.UdpFlood;
import natgw.tun.CommandResult;
import natgw.tun.Exec;
import natgw.tun.lab.JavaCommand;
import natgw.tun.lab.Lab;
import natgw.tun.lab.LabProcess;
import natgw.tun.lab.Role;

/**
 * Bulk TCP (iperf3, one test per entry of {@code flows}: 1 and 4 parallel streams by default, with the sender's
 * retransmissions), small-UDP packets per second (udpflood.c, 18-byte payloads, one socket per thread from distinct
 * client addresses) and UDP GSO (udpgso.c: {@code UDP_SEGMENT} datagrams of up to 64 KiB cut into
 * {@code usoSegment}-byte segments as late as the path allows). UDP is counted where it arrives: the server's
 * {@code s0} rx counters (an nft rule drops it right there, so no receiving process competes for the CPUs). Each
 * segment runs every test for {@code durationS} seconds.
 *
 * <p>After the flood, paced trials (udppace.c) search the highest small-UDP rate the path carries with at most
 * {@code udpLossPercent} loss ({@link RateSearch}): the flood's figure depends on how fast the sender runs on the
 * CPUs it shares with the forwarder, the searched rate on the path alone.
 *
 * <p>UDP GSO super-packets reach the server whole when every hop passes them on (veth does; a TUN only with USO
 * accepted), or cut into MTU-sized datagrams where a hop cannot: the segments received per received packet say
 * which ({@code uso_segments_per_packet}, 1 when segmented on the way).
 */
public final class ThroughputScenario implements Scenario
{
    static final int IPERF_PORT = 5201;
    static final String SINK_TABLE = "natgw_sink";
    /**
     * Bytes s0 counts per received UDP packet besides its payload: Ethernet 14 (veth counts the frame), IPv4 20,
     * UDP 8; once per packet whether it carries one segment or a GSO super-packet.
     */
    static final int UDP_FRAME_OVERHEAD = 14 + 20 + 8;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SENT = Pattern.compile("thread \\d+ sent (\\d+)");
    private static final Pattern SENT_IN = Pattern.compile("thread \\d+ sent \\d+ in ([0-9.]+) s");

    private LabProcess iperfServer;
    private List<String> flooder;
    private String flooderName;
    private List<String> pacer;
    private List<String> usoSender;
    private String usoSenderName;

    @Override
    public String name()
    {
        return "throughput";
    }

    @Override
    public String description()
    {
        return "TCP bulk throughput (iperf3 client in the client namespace, server in the server namespace; one " +
            "test per flow count, with the sender's retransmissions), small-UDP packets per second (18-byte " +
            "payloads from one socket per thread, counted as rx_packets on the server's interface) and UDP GSO " +
            "(UDP_SEGMENT datagrams of up to 64 KiB from one socket per thread, payload counted from the server's " +
            "rx bytes; segments per received packet is 1 when the path cut the super-packets, more when they " +
            "passed whole). Offloads on the veths are left as the kernel sets them (TSO/GSO on): the kernel paths " +
            "carry 64 KiB super-packets, a TUN without IFF_VNET_HDR (nulltun, natgw --offload off) gets " +
            "1500-byte packets, a TUN with IFF_VNET_HDR and TSO/USO (nulltun-offload, natgw) gets super-packets.";
    }

    @Override
    public List<String> defaultImpls()
    {
        return List.of("kernel-forward", "kernel-masq", "natgw-reserve", Implementations.NATGW_RESERVE_NO_OFFLOAD);
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
        validate(context.options());
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
        if (context.options().usoSegment > 0)
        {
            prepareUsoSender(context);
        }
        if (context.options().udpTrials > 0)
        {
            if (Exec.onPath("gcc"))
            {
                pacer = List.of(CTools.compileResource("udppace.c", context.outDir().resolve("bin")).toString());
            }
            else
            {
                context.progress().message("throughput: the paced UDP search does not run: gcc missing to compile udppace.c");
            }
        }
    }

    private void prepareUsoSender(final BenchContext context)
    {
        if (!Exec.onPath("gcc"))
        {
            usoSenderName = "not run: gcc missing to compile udpgso.c";
            context.progress().message("throughput: UDP GSO " + usoSenderName);
            return;
        }
        usoSender = List.of(CTools.compileResource("udpgso.c", context.outDir().resolve("bin")).toString());
        usoSenderName = "udpgso.c (UDP_SEGMENT " + context.options().usoSegment + ")";
    }

    public String flooderName()
    {
        return flooderName;
    }

    /** The UDP GSO sender, or why it does not run; null before {@link #prepare}. */
    public String usoSenderName()
    {
        return usoSenderName;
    }

    @Override
    public List<ScenarioResult.Figure> figures(final BenchOptions options)
    {
        final List<ScenarioResult.Figure> figures = new ArrayList<>();
        for (final int flows : options.flows)
        {
            figures.add(new ScenarioResult.Figure("TCP " + flows + (flows == 1 ? " flow" : " flows"),
                tcpValue(flows, "gbps"), "Gbit/s"));
        }
        figures.add(new ScenarioResult.Figure("UDP small packets", "udp_rx_kpps", "kpps"));
        if (options.udpTrials > 0)
        {
            figures.add(new ScenarioResult.Figure(String.format(Locale.ROOT, "UDP small, <= %s %% loss",
                lossText(options.udpLossPercent)), "udp_pdr_kpps", "kpps"));
        }
        if (options.usoSegment > 0)
        {
            figures.add(new ScenarioResult.Figure("UDP GSO", "uso_gbps", "Gbit/s"));
        }
        return figures;
    }

    /** {@code tcp4_gbps}, {@code tcp4_retransmits}: the values of the TCP test with that many flows. */
    static String tcpValue(final int flows, final String what)
    {
        return "tcp" + flows + "_" + what;
    }

    /** Refuses options this scenario cannot run with, before any lab is built. */
    public static void validate(final BenchOptions options)
    {
        if (options.flows.isEmpty() || options.flows.stream().anyMatch(f -> f < 1 || f > 128) ||
            options.flows.stream().distinct().count() != options.flows.size())
        {
            throw new IllegalArgumentException("--flows must be distinct counts from 1 to 128, not " + options.flows);
        }
        if (options.usoSegment < 0 || options.usoSegment > 1472)
        {
            throw new IllegalArgumentException("--uso-segment must be 0 (no UDP GSO test) or 1 to 1472 bytes " +
                "(one segment fits the lab's 1500-byte MTU), not " + options.usoSegment);
        }
        if (options.udpTrials < 0 || options.udpTrials > 50)
        {
            throw new IllegalArgumentException("--udp-trials must be 0 (no search) to 50, not " + options.udpTrials);
        }
        if (!(options.udpLossPercent >= 0 && options.udpLossPercent < 100))
        {
            throw new IllegalArgumentException("--udp-loss must be a percentage from 0 to below 100, not " + options.udpLossPercent);
        }
        if (options.udpTrialS < 1 || options.udpTrialS > 60)
        {
            throw new IllegalArgumentException("--udp-trial must be 1 to 60 seconds, not " + options.udpTrialS);
        }
    }

    @Override
    public LoadResult runSegment(final BenchContext context, final String impl, final String segmentName,
        final int block, final int blocks) throws Exception
    {
        final BenchOptions options = context.options();
        final LoadResult result = new LoadResult();
        final int seconds = Math.max(1, (int)Math.ceil(options.durationS));
        for (final int flows : options.flows)
        {
            runTcp(context, segmentName, flows, seconds, result);
        }
        runUdpFlood(context, segmentName, seconds, result);
        if (usoSender != null)
        {
            runUso(context, seconds, result);
        }
        return result;
    }

    private static void runTcp(final BenchContext context, final String segmentName, final int flows,
        final int seconds, final LoadResult result) throws Exception
    {
        context.progress().update("TCP, iperf3 -P " + flows + " for " + seconds + " s");
        final CommandResult tcp = Exec.run(context.lab().inNamespace(Role.CLIENT, List.of("iperf3", "-c",
            Lab.SERVER_ADDR, "-p", String.valueOf(IPERF_PORT), "-t", String.valueOf(seconds), "-P",
            String.valueOf(flows), "-J", "--connect-timeout", "3000")), null, (seconds + 20) * 1000L);
        Files.writeString(context.logsDir().resolve(segmentName + ".iperf3-P" + flows + ".json"), tcp.stdout());
        final double[] tcpResult = parseIperf(tcp.stdout());
        if (Double.isNaN(tcpResult[0]))
        {
            error(result, "error_iperf3");
        }
        else
        {
            result.value(tcpValue(flows, "gbps"), tcpResult[0] / 1e9);
            result.value(tcpValue(flows, "retransmits"), tcpResult[1]);
        }
    }

    private static void error(final LoadResult result, final String count)
    {
        result.count("errors", result.count("errors") + 1);
        result.count(count, result.count(count) + 1);
    }

    private void runUdpFlood(final BenchContext context, final String segmentName, final int seconds, final LoadResult result)
        throws Exception
    {
        final Lab lab = context.lab();
        context.progress().update("UDP flood for " + seconds + " s");
        final int threads = Math.min(context.options().threadsOrCpus(), lab.clients());
        final SenderRun udp = runSender(lab, flooder, seconds, List.of(String.valueOf(threads)), threads);
        final double elapsedS = udp.elapsedS();
        final long sent = sent(udp.result().stdout());
        if (!udp.result().ok() || sent == 0)
        {
            error(result, "error_udpflood");
        }
        else
        {
            final long received = udp.rxPackets();
            result.value("udp_rx_kpps", received / elapsedS / 1e3);
            result.value("udp_tx_kpps", sent / elapsedS / 1e3);
            result.value("udp_delivered", (double)received / sent);
            result.count("udp_sent", sent);
            result.count("udp_received", received);
            if (pacer != null)
            {
                searchUdpRate(context, segmentName, sent / elapsedS, received / elapsedS, threads, result);
            }
        }
    }

    /** The paced search after a flood that offered {@code floodSentPps} and delivered {@code floodDeliveredPps}. */
    private void searchUdpRate(final BenchContext context, final String segmentName, final double floodSentPps,
        final double floodDeliveredPps, final int threads, final LoadResult result) throws Exception
    {
        final BenchOptions options = context.options();
        final RateSearch.Result found;
        try
        {
            found = new RateSearch(options.udpLossPercent / 100, options.udpTrials)
                .search(floodSentPps, floodDeliveredPps, pps -> pacedTrial(context, pps, threads));
        }
        catch (final PacerFailed ex)
        {
            error(result, "error_udppace");
            context.progress().message("throughput: " + ex.getMessage());
            return;
        }
        final StringBuilder log = new StringBuilder(String.format(Locale.ROOT,
            "flood: sent %.0f pps, delivered %.0f pps%n", floodSentPps, floodDeliveredPps));
        for (final RateSearch.Trial trial : found.trials())
        {
            log.append("trial: ").append(trial).append(System.lineSeparator());
        }
        log.append(String.format(Locale.ROOT, "found: %.0f pps%s%n", found.pps(), found.senderBound() ? ", sender-bound" : ""));
        Files.writeString(context.logsDir().resolve(segmentName + ".udp-search.log"), log);
        result.value("udp_pdr_kpps", found.pps() / 1e3);
        result.count("udp_pdr_trials", result.count("udp_pdr_trials") + found.trials().size());
        if (found.senderBound())
        {
            result.count("udp_pdr_sender_bound", result.count("udp_pdr_sender_bound") + 1);
        }
    }

    private RateSearch.Trial pacedTrial(final BenchContext context, final double pps, final int threads) throws Exception
    {
        final Lab lab = context.lab();
        final int seconds = context.options().udpTrialS;
        context.progress().update(String.format(Locale.ROOT, "UDP paced at %.0f kpps for %d s", pps / 1e3, seconds));
        final SenderRun run = runSender(lab, pacer, seconds,
            List.of(String.format(Locale.ROOT, "%.0f", pps), String.valueOf(threads)), threads);
        final CommandResult paced = run.result();
        final long sent = sent(paced.stdout());
        final double sendingS = sendingSeconds(paced.stdout());
        if (!paced.ok() || sent == 0 || sendingS <= 0)
        {
            throw new PacerFailed("udppace failed: " + (paced.stderr() + paced.stdout()).strip());
        }
        return new RateSearch.Trial(pps, sent / sendingS, Math.min(1.0, (double)run.rxPackets() / sent));
    }

    /** udppace exited with an error or sent nothing: the segment's search is counted as an error, not run on. */
    private static final class PacerFailed extends RuntimeException
    {
        private static final long serialVersionUID = 1L;

        PacerFailed(final String message)
        {
            super(message);
        }
    }

    /** The longest any udppace thread took to send its share: "thread N sent COUNT in SECONDS s". */
    static double sendingSeconds(final String stdout)
    {
        double seconds = 0;
        final Matcher m = SENT_IN.matcher(stdout);
        while (m.find())
        {
            seconds = Math.max(seconds, Double.parseDouble(m.group(1)));
        }
        return seconds;
    }

    /** 0.5 as "0.5", 1 as "1". */
    static String lossText(final double percent)
    {
        return percent == Math.rint(percent) ? String.valueOf((long)percent) : String.valueOf(percent);
    }

    private void runUso(final BenchContext context, final int seconds, final LoadResult result) throws Exception
    {
        final Lab lab = context.lab();
        final int segment = context.options().usoSegment;
        context.progress().update("UDP GSO for " + seconds + " s");
        final int threads = Math.min(context.options().threadsOrCpus(), lab.clients());
        final SenderRun run = runSender(lab, usoSender, seconds,
            List.of(String.valueOf(threads), String.valueOf(segment)), threads);
        final CommandResult uso = run.result();
        final long sent = sent(uso.stdout());
        if (!uso.ok() || sent == 0)
        {
            error(result, "error_udpgso");
            context.progress().message("udpgso: " + (uso.stderr() + uso.stdout()).strip());
            return;
        }
        final long packets = run.rxPackets();
        final long segments = receivedSegments(run.rxBytes(), packets, segment);
        result.value("uso_gbps", segments * segment * 8.0 / run.elapsedS() / 1e9);
        result.value("uso_delivered", (double)segments / sent);
        result.value("uso_segments_per_packet", packets == 0 ? 0 : (double)segments / packets);
        result.count("uso_sent", sent);
        result.count("uso_received", segments);
    }

    /** One run of a UDP sender in the client namespace, and what the server's s0 received meanwhile. */
    private record SenderRun(CommandResult result, long rxPackets, long rxBytes, double elapsedS)
    {
    }

    /**
     * Runs {@code sender} with the arguments every UDP sender here takes (the server's sink, {@code seconds}, then its
     * own {@code args}, then the first {@code threads} client addresses), counting s0's rx until 200 ms after it ends
     * (packets still on the way).
     */
    private static SenderRun runSender(final Lab lab, final List<String> sender, final int seconds, final List<String> args,
        final int threads) throws Exception
    {
        final List<String> command = new ArrayList<>(sender);
        command.addAll(List.of(Lab.SERVER_ADDR, String.valueOf(BenchRunner.UDP_SINK_PORT), String.valueOf(seconds)));
        command.addAll(args);
        command.addAll(lab.clientAddresses().subList(0, threads));
        final long[] before = rx(lab);
        final long startNs = System.nanoTime();
        final CommandResult result = Exec.run(lab.inNamespace(Role.CLIENT, command), null, (seconds + 20) * 1000L);
        final double elapsedS = (System.nanoTime() - startNs) / 1e9;
        Thread.sleep(200);
        final long[] after = rx(lab);
        return new SenderRun(result, after[0] - before[0], after[1] - before[1], elapsedS);
    }

    /**
     * Segments of {@code segment} payload bytes in what s0 received: its byte count less one frame's headers per
     * packet, since a GSO super-packet arrives as one packet with one set of headers.
     */
    static long receivedSegments(final long rxBytes, final long rxPackets, final int segment)
    {
        return Math.max(0, rxBytes - rxPackets * UDP_FRAME_OVERHEAD) / segment;
    }

    /** What the senders printed they sent: "thread N sent COUNT ..." per thread, summed. */
    static long sent(final String stdout)
    {
        long sent = 0;
        final Matcher m = SENT.matcher(stdout);
        while (m.find())
        {
            sent += Long.parseLong(m.group(1));
        }
        return sent;
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

    /** rx packets and bytes of the server's interface. */
    static long[] rx(final Lab lab)
    {
        final CommandResult result = Exec.run("ip", "-n", lab.ns(Role.SERVER), "-s", "-j", "link", "show", "dev",
            Lab.SERVER_IF);
        try
        {
            final JsonNode rx = JSON.readTree(result.stdout()).path(0).path("stats64").path("rx");
            return new long[] {rx.path("packets").asLong(), rx.path("bytes").asLong()};
        }
        catch (final Exception e)
        {
            throw new IllegalStateException("cannot read rx counters of " + Lab.SERVER_IF + ": " + result.stderr(), e);
        }
    }

    @Override
    public String throughputText(final ImplResult result)
    {
        final List<String> parts = new ArrayList<>();
        for (final String value : result.values().keySet())
        {
            if (value.startsWith("tcp") && value.endsWith("_gbps"))
            {
                final String flows = value.substring(3, value.length() - "_gbps".length());
                parts.add(String.format(Locale.ROOT, "TCP %s: %.2f Gbit/s (%.0f retr)", flows, result.median(value),
                    result.median("tcp" + flows + "_retransmits")));
            }
        }
        if (result.count("error_iperf3") > 0)
        {
            parts.add("TCP failed " + result.count("error_iperf3") + "x");
        }
        final double kpps = result.median("udp_rx_kpps");
        parts.add(Double.isNaN(kpps) ? "UDP failed" : String.format(Locale.ROOT, "UDP %.0f kpps", kpps));
        final double pdr = result.median("udp_pdr_kpps");
        if (!Double.isNaN(pdr))
        {
            parts.add(String.format(Locale.ROOT, "UDP paced %.0f kpps%s", pdr,
                result.count("udp_pdr_sender_bound") > 0 ? " (sender-bound)" : ""));
        }
        final double uso = result.median("uso_gbps");
        if (!Double.isNaN(uso))
        {
            parts.add(String.format(Locale.ROOT, "UDP GSO %.2f Gbit/s (%.1f seg/pkt)", uso,
                result.median("uso_segments_per_packet")));
        }
        else if (result.count("error_udpgso") > 0)
        {
            parts.add("UDP GSO failed");
        }
        if (result.count("error_udppace") > 0)
        {
            parts.add("paced UDP failed " + result.count("error_udppace") + "x");
        }
        return String.join(", ", parts);
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
