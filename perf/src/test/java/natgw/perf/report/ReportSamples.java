package natgw.perf.report;

import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import natgw.perf.bench.ImplResult;
import natgw.perf.bench.ScenarioResult;
import natgw.perf.load.LoadResult;
import org.HdrHistogram.Histogram;

/**
 * Scenario results shaped as real runs of this VM's lab (names, descriptions, counters and throughputs of one short
 * run of each scenario; latency distributions drawn through its p50, p99 and max), to test the report on and to look
 * at it: {@code main(DIR)} writes a report of all of them.
 */
final class ReportSamples
{
    static final ReportWriter.RunInfo INFO = new ReportWriter.RunInfo("natgw bench: sample",
        "natgw bench connect-storm,short-connections,throughput --rounds 40 --blocks 1 --nulltun nulltun.c",
        hostInfo(), Instant.parse("2026-12-06T01:19:04Z"));

    static final String MASQ = "kernel nftables `masquerade` (conntrack, default port selection)";
    static final String RESERVE = "natgw `run --port-strategy reserve` (TUN, userspace conntrack; offloads as " +
        "natgw's default, on)";
    static final String RESERVE_OFF = "natgw `run --port-strategy reserve --offload off` (TUN, userspace conntrack)";
    static final String NULLTUN = "nulltun (TUN read/write back, no NAT, no offloads): the TUN path's ceiling";
    static final String NULLTUN_OFFLOAD = "nulltun -v (TUN read/write back, no NAT; IFF_VNET_HDR with the " +
        "TSO/USO/checksum offloads the kernel accepts): the ceiling of the TUN path with offloads";
    static final List<String> KERNEL_COLUMNS = List.of("entries", "clashres", "found", "new", "invalid", "ignore",
        "delete", "chainlength", "insert", "insert_failed", "drop", "early_drop", "icmp_error", "expect_new",
        "expect_create", "expect_delete", "search_restart");

    private ReportSamples()
    {
    }

    public static void main(final String[] args) throws Exception
    {
        final ReportWriter.WrittenFiles files = ReportWriter.write(Path.of(args[0]), INFO,
            List.of(connectStorm(), shortConnections(), throughput(), dns()));
        System.out.println(files.html());
    }

    private static Map<String, String> hostInfo()
    {
        final Map<String, String> host = new LinkedHashMap<>();
        host.put("Linux", "6.18.44");
        host.put("CPUs", "2");
        host.put("Java", "OpenJDK 64-Bit Server VM 17.0.15");
        return host;
    }

    /** {@code count} latencies through p0 = p50 / 2, p50, p99 and max (microseconds), log-linear between them. */
    static Histogram latency(final int count, final double p50Us, final double p99Us, final double maxUs)
    {
        final double[] p = {0, 0.5, 0.99, 1};
        final double[] us = {p50Us / 2, p50Us, p99Us, maxUs};
        final Histogram h = LoadResult.newHistogram();
        for (int i = 0; i < count; i++)
        {
            final double q = count == 1 ? 1 : (double)i / (count - 1);
            int k = 0;
            while (k < 2 && q > p[k + 1])
            {
                k++;
            }
            final double f = (q - p[k]) / (p[k + 1] - p[k]);
            final double logUs = Math.log(us[k]) + f * (Math.log(us[k + 1]) - Math.log(us[k]));
            h.recordValue((long)(Math.exp(logUs) * 1000));
        }
        return h;
    }

    static Map<String, Long> kernelCounters(final long insert, final long insertFailed, final long found)
    {
        final Map<String, Long> c = new LinkedHashMap<>();
        for (final String name : List.of("clash_resolve", "found", "new", "invalid", "ignore", "delete",
            "chaintoolong", "insert", "insert_failed", "drop", "early_drop", "error", "expect_new", "expect_create",
            "expect_delete", "search_restart"))
        {
            c.put(name, 0L);
        }
        c.put("insert", insert);
        c.put("insert_failed", insertFailed);
        c.put("drop", insertFailed);
        c.put("found", found);
        return c;
    }

    static Map<String, Long> natgwCounters(final long insert, final long found, final long packets, final long tunDrops)
    {
        final Map<String, Long> c = new LinkedHashMap<>();
        for (final String name : List.of("found", "invalid", "insert", "insert_failed", "drop", "early_drop",
            "search_restart", "clash_resolve", "port_search_attempts", "pool_exhausted", "reopened", "adopted",
            "untracked", "rx_packets", "tx_packets", "dropped", "backend_gone", "rejected", "tun_tx_dropped",
            "tun_rx_dropped"))
        {
            c.put(name, 0L);
        }
        c.put("insert", insert);
        c.put("port_search_attempts", insert);
        c.put("found", found);
        c.put("rx_packets", packets);
        c.put("tx_packets", packets);
        c.put("tun_tx_dropped", tunDrops);
        return c;
    }

    static Map<String, Long> tunCounters(final long tunDrops)
    {
        return Map.of("tun_tx_dropped", tunDrops, "tun_rx_dropped", 0L);
    }

    private static ImplResult storm(final ImplResult impl, final double p50, final double p99, final double max,
        final int stalls, final Map<String, Long> counters)
    {
        impl.add(0, new LoadResult().histogram("connect", latency(1600, p50, p99, max)).count("attempted", 1600)
            .count("completed", 1600).count("stalls", stalls).count("errors", 0), counters);
        return impl;
    }

    static ScenarioResult connectStorm()
    {
        final ImplResult natgw = new ImplResult("natgw-reserve", RESERVE, "nulltun-offload");
        natgw.note("offloads in force: csum,tso4,tso6,tso_ecn,uso4,uso6");
        final ImplResult natgwOff = new ImplResult("natgw-reserve-no-offload", RESERVE_OFF, "nulltun");
        natgwOff.note("offloads in force: off");
        return new ScenarioResult("connect-storm", "Incident 1: K client addresses open a TCP connection each to " +
            "10.77.2.2:7000 from the same source port at the same instant, one round every interval; a stall is a " +
            "connect of 1 s or more (a dropped SYN, retransmitted).", List.of("connect"), List.of(
                storm(new ImplResult("kernel-masq", MASQ), 14.9, 957, 1_032_323, 4, kernelCounters(1596, 4, 0)),
                storm(natgw, 963, 13_410, 14_901, 0, natgwCounters(1601, 11_844, 13_445, 0)),
                storm(natgwOff, 965, 8_659, 12_444, 0, natgwCounters(1601, 11_742, 13_343, 0)),
                storm(new ImplResult("nulltun", NULLTUN, "nulltun"), 715, 53_674, 90_046, 0, tunCounters(0)),
                storm(new ImplResult("nulltun-offload", NULLTUN_OFFLOAD, "nulltun-offload"), 632, 41_386, 43_221, 0,
                    tunCounters(0))),
            Map.of("clients", 40, "blocks", 1, "rounds", 40), KERNEL_COLUMNS, INFO.generated(), 17, Map.of());
    }

    private static ImplResult closedLoop(final ImplResult impl, final int completed, final double connectP50,
        final double connectP99, final double connectMax, final double requestP50, final double requestP99,
        final double requestMax, final Map<String, Long> counters)
    {
        impl.add(0, new LoadResult()
            .histogram("closed.connect", latency(completed, connectP50, connectP99, connectMax))
            .histogram("closed.request", latency(completed, requestP50, requestP99, requestMax))
            .count("closed.completed", completed).count("closed.stalls", 0).count("closed.errors", 0)
            .value("closed.duration_s", 1.0).value("closed.conn_per_s", completed), counters);
        return impl;
    }

    /** Implementations in another order than {@link #connectStorm()}, and one fewer. */
    static ScenarioResult shortConnections()
    {
        return new ScenarioResult("short-connections", "Short TCP connections from all client addresses to " +
            "10.77.2.2:7000: connect, 64-byte request, echoed response, close with RST.",
            List.of("closed.connect", "closed.request"), List.of(
                closedLoop(new ImplResult("nulltun", NULLTUN, "nulltun"), 4003, 310, 5_284, 573_571, 1_004, 18_825,
                    594_543, tunCounters(0)),
                closedLoop(new ImplResult("kernel-masq", MASQ), 21_024, 92, 385, 6_595, 471, 4_538, 46_957,
                    kernelCounters(0, 0, 13_091)),
                closedLoop(new ImplResult("natgw-reserve", RESERVE, "nulltun-offload"), 2056, 486, 104_792, 909_640,
                    1_431, 162_529, 1_729_102, natgwCounters(2057, 15_204, 18_000, 0)),
                closedLoop(new ImplResult("nulltun-offload", NULLTUN_OFFLOAD, "nulltun-offload"), 12_165, 286, 2_974,
                    106_365, 845, 6_021, 114_885, tunCounters(0))),
            Map.of("clients", 40, "mode", "closed", "closed_concurrency", 16), KERNEL_COLUMNS, INFO.generated(), 27,
            Map.of(), List.of(), List.of(new ScenarioResult.Figure("closed loop", "closed.conn_per_s", "conn/s")));
    }

    private static ImplResult bulk(final ImplResult impl, final double tcp1Gbps, final long tcp1Retransmits,
        final double tcp4Gbps, final long tcp4Retransmits, final double udpKpps, final double udpTxKpps,
        final double usoGbps, final double usoSegmentsPerPacket, final Map<String, Long> counters)
    {
        impl.add(0, new LoadResult().count("errors", 0).value("tcp1_gbps", tcp1Gbps)
            .value("tcp1_retransmits", tcp1Retransmits).value("tcp4_gbps", tcp4Gbps)
            .value("tcp4_retransmits", tcp4Retransmits).value("udp_rx_kpps", udpKpps)
            .value("udp_tx_kpps", udpTxKpps).value("udp_delivered", udpKpps / udpTxKpps).value("uso_gbps", usoGbps)
            .value("uso_segments_per_packet", usoSegmentsPerPacket), counters);
        return impl;
    }

    /** Retransmissions are whole numbers, natgw-reserve's TCP 1 had none. */
    static ScenarioResult throughput()
    {
        final Map<String, String> text = new LinkedHashMap<>();
        text.put("kernel-masq", "TCP 1: 11.67 Gbit/s (1434 retr), TCP 4: 10.23 Gbit/s (163 retr), UDP 504 kpps, " +
            "UDP GSO 95.35 Gbit/s (46.0 seg/pkt)");
        text.put("natgw-reserve", "TCP 1: 7.03 Gbit/s (0 retr), TCP 4: 8.52 Gbit/s (6442 retr), UDP 92 kpps, " +
            "UDP GSO 7.65 Gbit/s (46.0 seg/pkt)");
        text.put("natgw-reserve-no-offload", "TCP 1: 1.60 Gbit/s (4194 retr), TCP 4: 2.41 Gbit/s (132 retr), " +
            "UDP 86 kpps, UDP GSO 0.94 Gbit/s (1.0 seg/pkt)");
        text.put("nulltun", "TCP 1: 1.68 Gbit/s (15667 retr), TCP 4: 1.85 Gbit/s (32212 retr), UDP 86 kpps, " +
            "UDP GSO 1.24 Gbit/s (1.0 seg/pkt)");
        text.put("nulltun-offload", "TCP 1: 8.89 Gbit/s (544 retr), TCP 4: 10.69 Gbit/s (1316 retr), UDP 227 kpps, " +
            "UDP GSO 1.50 Gbit/s (1.0 seg/pkt)");
        return new ScenarioResult("throughput", "TCP bulk throughput (iperf3), small-UDP packets per second and " +
            "UDP GSO (`UDP_SEGMENT` datagrams of up to 64 KiB).", List.of(), List.of(
                bulk(new ImplResult("kernel-masq", MASQ), 11.67, 1434, 10.23, 163, 503.7, 503.7, 95.35, 46,
                    kernelCounters(0, 0, 0)),
                bulk(new ImplResult("natgw-reserve", RESERVE, "nulltun-offload"), 7.03, 0, 8.52, 6442, 91.7, 264.2,
                    7.65, 46, natgwCounters(12, 218_039, 3_872_476, 196_218)),
                bulk(new ImplResult("natgw-reserve-no-offload", RESERVE_OFF, "nulltun"), 1.60, 4194, 2.41, 132, 85.7,
                    321.1, 0.94, 1, natgwCounters(12, 1_071_458, 1_071_470, 2_386_307)),
                bulk(new ImplResult("nulltun", NULLTUN, "nulltun"), 1.68, 15_667, 1.85, 32_212, 86.3, 303.2, 1.24, 1,
                    tunCounters(2_660_684)),
                bulk(new ImplResult("nulltun-offload", NULLTUN_OFFLOAD, "nulltun-offload"), 8.89, 544, 10.69, 1316,
                    226.9, 537.3, 1.50, 1, tunCounters(4_263_266))),
            Map.of("clients", 40, "duration_s", 2, "tcp_flows", List.of(1, 4)), KERNEL_COLUMNS, INFO.generated(), 49,
            text, List.of(), List.of(
                new ScenarioResult.Figure("TCP 1 flow", "tcp1_gbps", "Gbit/s"),
                new ScenarioResult.Figure("TCP 4 flows", "tcp4_gbps", "Gbit/s"),
                new ScenarioResult.Figure("UDP small packets", "udp_rx_kpps", "kpps"),
                new ScenarioResult.Figure("UDP GSO", "uso_gbps", "Gbit/s")));
    }

    private static ImplResult lookups(final ImplResult impl, final double p50, final double p99, final double max,
        final long lost, final long split, final Map<String, Long> counters)
    {
        impl.add(0, new LoadResult().histogram("lookup", latency(2000, p50, p99, max)).count("lost", lost)
            .count("late", 0).count("split", split).count("stalls", 0).count("errors", 0), counters);
        return impl;
    }

    /** A DNAT scenario: the baseline is kernel-dnat, the scenario has columns of its own. */
    static ScenarioResult dns()
    {
        return new ScenarioResult("dns-a-aaaa", "Incident 4: A and AAAA from one 5-tuple on two CPUs at once, to " +
            "the service VIP 10.77.3.10:53.", List.of("lookup"), List.of(
                lookups(new ImplResult("kernel-dnat", "kernel nftables `dnat` to `numgen inc mod N`"), 48, 310, 2_100,
                    0, 5, kernelCounters(2000, 5, 0)),
                lookups(new ImplResult("natgw-reserve", RESERVE, "nulltun-offload"), 120, 900, 3_500, 0, 0,
                    natgwCounters(2000, 2000, 8000, 0)),
                lookups(new ImplResult("natgw-kernel-no-clash", "natgw `run --port-strategy kernel " +
                    "--no-clash-resolution`"), 118, 880, 3_400, 3, 0, natgwCounters(1997, 2000, 7994, 0))),
            Map.of("senders", 2), KERNEL_COLUMNS, INFO.generated(), 12, Map.of(), List.of(
                new ScenarioResult.Column("lost", "lost"), new ScenarioResult.Column("late", "late"),
                new ScenarioResult.Column("split", "split")));
    }
}
