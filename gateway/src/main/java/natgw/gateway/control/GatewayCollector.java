package natgw.gateway.control;

import java.util.List;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Unit;

import natgw.core.conntrack.ConntrackCounter;
import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.packet.DropReason;
import natgw.gateway.Gateway;
import natgw.gateway.Worker;
import natgw.tun.TunOffloads;
import natgw.tun.TunSteering;

/**
 * natgw's own metrics, read from the gateway when Prometheus scrapes: the workers' counters (their
 * single-writer slots, read volatile; nothing on the packet path knows about Prometheus), the table, the
 * reaper, the event ring and the TUN device.
 * <ul>
 *   <li>{@code natgw_packets_total} and {@code natgw_bytes_total} by {@code direction} ({@code in}: read
 *       from the TUN, {@code out}: written back to it) and {@code worker};</li>
 *   <li>{@code natgw_drops_total} by {@code reason} and {@code worker}: every packet dropped, each under one
 *       reason; the TUN's own drops (the kernel found the queue to natgw full) as {@code reason="tun_tx_dropped"}
 *       without a worker, as the device counts them for all its queues together;</li>
 *   <li>{@code natgw_conntrack_*} where the meaning is {@code conntrack -S}'s (and the table's size), then
 *       natgw's own under the stage that counts them: {@code natgw_nat_*}, {@code natgw_service_*},
 *       {@code natgw_untracked_packets_total}.</li>
 * </ul>
 */
final class GatewayCollector implements MultiCollector
{
    private static final String WORKER = "worker";

    private final Gateway gateway;

    GatewayCollector(final Gateway gateway)
    {
        this.gateway = gateway;
    }

    /**
     * The family a worker counter is exported as, or null for one exported in another family: packets and
     * bytes by direction, and the drop counts that {@code natgw_drops_total} holds by reason ({@code drop} is
     * its table_full and insert_failed, {@code pool_exhausted} its reason of that name, {@code dropped} its sum).
     */
    static String family(final ConntrackCounter counter)
    {
        return switch (counter)
        {
            case FOUND, INVALID, INSERT, INSERT_FAILED, EARLY_DROP, SEARCH_RESTART, CLASH_RESOLVE, REOPENED ->
                "natgw_conntrack_" + counter.label();
            case PORT_SEARCH_ATTEMPTS, ADOPTED, TAKEN_OVER, TAKE_OVER_REFUSED, TAKE_OVER_REFUSED_TIMESTAMP, MAPPINGS_CREATED, HAIRPINNED, ACCEPTED_INBOUND ->
                "natgw_nat_" + counter.label();
            case BACKEND_GONE, REJECTED -> "natgw_service_" + counter.label();
            case UNTRACKED -> "natgw_untracked_packets";
            case FRAGMENTS, FRAGMENTS_HELD, FRAGMENTS_RELEASED -> "natgw_" + counter.label();
            case RX_PACKETS, TX_PACKETS, RX_BYTES, TX_BYTES, DROP, DROPPED, POOL_EXHAUSTED -> null;
        };
    }

    public MetricSnapshots collect()
    {
        final List<Worker> workers = gateway.workers();
        final MetricSnapshots.Builder out = MetricSnapshots.builder()
            .metricSnapshot(byDirection("natgw_packets", "packets through the TUN device; a GSO super-packet counts as " +
                "the packets it is on the wire", null, workers, ConntrackCounter.RX_PACKETS, ConntrackCounter.TX_PACKETS))
            .metricSnapshot(byDirection("natgw_bytes", "bytes through the TUN device, IP header onward; a GSO " +
                "super-packet counts once, as the device counts it", Unit.BYTES, workers, ConntrackCounter.RX_BYTES,
                ConntrackCounter.TX_BYTES))
            .metricSnapshot(drops(workers));
        for (final ConntrackCounter counter : ConntrackCounter.values())
        {
            final String name = family(counter);
            if (name != null)
            {
                final CounterSnapshot.Builder family = CounterSnapshot.builder().name(name).help(counter.description());
                for (final Worker worker : workers)
                {
                    final WorkerCounters c = worker.pipeline().counters();
                    family.dataPoint(counter(c.get(counter), Labels.of(WORKER, workerLabel(c))));
                }
                out.metricSnapshot(family.build());
            }
        }
        final ConntrackTable table = gateway.table();
        final int mappings = table.countMappings();
        return out
            .metricSnapshot(CounterSnapshot.builder().name("natgw_conntrack_expired").help("connections ended by timeout")
                .dataPoint(counter(gateway.reaper().expired(), Labels.EMPTY)).build())
            .metricSnapshot(gauge("natgw_conntrack_entries", "connections in the table", null, table.countInUse()))
            .metricSnapshot(gauge("natgw_nat_mappings", "endpoint-independent mappings: inside endpoints with an external port; " +
                "each is an entry of the table too", null, mappings))
            .metricSnapshot(gauge("natgw_conntrack_max", "table capacity (--conntrack-max)", null, table.capacity()))
            .metricSnapshot(gauge("natgw_conntrack_memory_bytes", "off-heap bytes of the table", Unit.BYTES,
                table.memoryBytes()))
            .metricSnapshot(gauge("natgw_conntrack_hugepage_bytes", "bytes of the table the kernel backs with huge pages",
                Unit.BYTES, gateway.tableHugePageBytes()))
            .metricSnapshot(gauge("natgw_fragment_buffers_in_use", "buffers of held fragments in use (--fragment-limit)", null,
                gateway.fragments().held()))
            .metricSnapshot(CounterSnapshot.builder().name("natgw_events_lost").help("conntrack events lost to a full ring")
                .dataPoint(counter(gateway.events().lost(), Labels.EMPTY)).build())
            .metricSnapshot(offloads())
            .metricSnapshot(queueSteering())
            .build();
    }

    private static CounterSnapshot byDirection(
        final String name, final String help, final Unit unit, final List<Worker> workers,
        final ConntrackCounter in, final ConntrackCounter out)
    {
        final CounterSnapshot.Builder family = CounterSnapshot.builder().name(name).help(help).unit(unit);
        for (final Worker worker : workers)
        {
            final WorkerCounters c = worker.pipeline().counters();
            family.dataPoint(counter(c.get(in), Labels.of("direction", "in", WORKER, workerLabel(c))));
            family.dataPoint(counter(c.get(out), Labels.of("direction", "out", WORKER, workerLabel(c))));
        }
        return family.build();
    }

    private CounterSnapshot drops(final List<Worker> workers)
    {
        final CounterSnapshot.Builder family = CounterSnapshot.builder().name("natgw_drops")
            .help("packets dropped, by reason; tun_tx_dropped: by the kernel, natgw's queue on the TUN device full");
        for (final DropReason reason : DropReason.values())
        {
            for (final Worker worker : workers)
            {
                final WorkerCounters c = worker.pipeline().counters();
                family.dataPoint(counter(c.get(reason), Labels.of("reason", reason.label(), WORKER, workerLabel(c))));
            }
        }
        final long tunTxDropped = gateway.tunTxDropped();
        if (tunTxDropped >= 0)
        {
            family.dataPoint(counter(tunTxDropped, Labels.of("reason", "tun_tx_dropped")));
        }
        return family.build();
    }

    private GaugeSnapshot offloads()
    {
        final TunOffloads offloads = gateway.offloads();
        final GaugeSnapshot.Builder family = GaugeSnapshot.builder().name("natgw_tun_offload")
            .help("offloads the TUN runs with (1 in force, 0 not)")
            .dataPoint(gaugePoint(offloads.vnetHeader() ? 1 : 0, Labels.of("flag", "vnet_hdr")));
        final String[] names = TunOffloads.allNames();
        for (int i = 0; i < names.length; i++)
        {
            final boolean on = offloads.vnetHeader() && offloads.has(TunOffloads.flagAt(i));
            family.dataPoint(gaugePoint(on ? 1 : 0, Labels.of("flag", names[i])));
        }
        return family.build();
    }

    private GaugeSnapshot queueSteering()
    {
        final TunSteering inForce = gateway.queueSteering();
        final GaugeSnapshot.Builder family = GaugeSnapshot.builder().name("natgw_tun_queue_steering")
            .help("how the TUN spreads packets over the workers' queues (1 in force, 0 not)");
        for (final TunSteering steering : TunSteering.values())
        {
            family.dataPoint(gaugePoint(steering == inForce ? 1 : 0, Labels.of("mode", steering.label())));
        }
        return family.build();
    }

    private static String workerLabel(final WorkerCounters counters)
    {
        return Integer.toString(counters.worker());
    }

    private static CounterDataPointSnapshot counter(final long value, final Labels labels)
    {
        return CounterDataPointSnapshot.builder().value(value).labels(labels).build();
    }

    private static GaugeSnapshot gauge(final String name, final String help, final Unit unit, final long value)
    {
        return GaugeSnapshot.builder().name(name).help(help).unit(unit).dataPoint(gaugePoint(value, Labels.EMPTY)).build();
    }

    private static GaugeDataPointSnapshot gaugePoint(final long value, final Labels labels)
    {
        return GaugeDataPointSnapshot.builder().value(value).labels(labels).build();
    }
}
