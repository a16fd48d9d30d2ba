package natgw.gateway;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;

import org.agrona.CloseHelper;
import org.agrona.concurrent.NanoClock;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.StatusDescriptor;
import natgw.core.flow.FlowTuple;
import natgw.core.memory.StateFile;
import natgw.core.nat.AffinityTable;
import natgw.core.nat.BackendCounters;
import natgw.core.nat.EndpointDependence;
import natgw.core.nat.Services;
import natgw.tun.HugePageFileMapper;
import natgw.tun.HugePageMemory;
import natgw.tun.StateFileLocation;

/**
 * What a flow needs to continue: the conntrack table (its entries are the NAT allocator's reservations
 * and mappings too) and the source-affinity table. Either in the process's memory, or in a state file
 * that a gateway started again on the same TUN attaches to, recovered before the first packet.
 * <pre>
 *  state file:  header page | conntrack control (free list, clock) | conntrack block | affinity slots
 * </pre>
 */
final class FlowState implements AutoCloseable
{
    static final int AFFINITY_SLOTS = 1 << 16;
    private static final int CONTROL = 0;
    private static final int CONNTRACK = 1;
    private static final int AFFINITY = 2;

    private final ConntrackTable table;
    private final AffinityTable affinity;
    private final StateFile file;
    private final HugePageMemory hugePages;
    private final String summary;
    private final boolean attached;

    private FlowState(
        final ConntrackTable table, final AffinityTable affinity, final StateFile file, final HugePageMemory hugePages,
        final String summary, final boolean attached)
    {
        this.attached = attached;
        this.table = table;
        this.affinity = affinity;
        this.file = file;
        this.hugePages = hugePages;
        this.summary = summary;
    }

    /** State in this process's memory (huge pages where the kernel has them): it ends with the process. */
    static FlowState inMemory(final GatewayConfig config, final NanoClock clock)
    {
        final HugePageMemory memory = new HugePageMemory();
        final ConntrackTable table = new ConntrackTable(config.conntrackMax(), clock.nanoTime(), memory);
        table.permissions(config.filtering() == EndpointDependence.ADDRESS_DEPENDENT);
        return new FlowState(table, new AffinityTable(AFFINITY_SLOTS), null, memory, "in memory", false);
    }

    /** The state {@code config} asks for: in its state file if it names one, else in memory. */
    static FlowState open(final GatewayConfig config, final NanoClock clock)
    {
        if (config.stateFile() == null)
        {
            return inMemory(config, clock);
        }
        if (config.stateFile().toAbsolutePath().getParent().equals(StateFileLocation.directory()))
        {
            try
            {
                StateFileLocation.createDirectory();
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException(ex.getMessage(), ex);
            }
        }
        return mapped(config, clock, config.stateFile(), StateFileLocation.identity());
    }

    /**
     * State in {@code path}: attached and recovered if a previous gateway with the same settings left it
     * ({@code identity} equal too), else made empty.
     *
     * @throws IllegalStateException naming the difference if the file was written with other settings.
     */
    static FlowState mapped(final GatewayConfig config, final NanoClock clock, final Path path, final Map<String, String> identity)
    {
        final Map<String, String> options = new TreeMap<>(options(config));
        options.putAll(identity);
        final long nowNs = clock.nanoTime();
        final StateFile file = StateFile.open(path,
            new long[] {ConntrackTable.CONTROL_LENGTH, ConntrackTable.memoryBytes(config.conntrackMax()), AffinityTable.bytes(AFFINITY_SLOTS)},
            options, config.fresh(), nowNs, ThreadLocalRandom.current().nextLong(), new HugePageFileMapper());
        try
        {
            final boolean attached = file.origin() == StateFile.Origin.ATTACHED;
            final ConntrackTable table = new ConntrackTable(config.conntrackMax(), file.epochNs(), file.seed(),
                file.region(CONNTRACK), file.region(CONTROL), attached);
            table.permissions(config.filtering() == EndpointDependence.ADDRESS_DEPENDENT);
            final AffinityTable affinity = new AffinityTable(AFFINITY_SLOTS, file.region(AFFINITY));
            final String summary;
            if (attached)
            {
                final ConntrackTable.Recovery recovery = table.recover(nowNs);
                affinity.forgetExpired(table.toTableMs(nowNs));
                summary = "state file " + path + " attached: " + recovery;
            }
            else
            {
                file.ready();
                summary = "state file " + path + " created" +
                    (file.origin() == StateFile.Origin.DISCARDED ? " (the previous one was discarded: " + file.discardReason() + ")" :
                    config.fresh() ? " (--fresh)" : "");
            }
            return new FlowState(table, affinity, file, null, summary, attached);
        }
        catch (final RuntimeException ex)
        {
            file.close();
            throw ex;
        }
    }

    /**
     * The settings an attached table must agree with, in the command line's words: what sizes the regions,
     * and what gives the entries their meaning (the pool and ports their mappings come from, the services
     * whose backend ids they hold, the mapping behaviour their uses of mappings follow). Timeouts and the port
     * strategy are not here: entries keep the deadlines they have, and every strategy reads and writes the same
     * entries.
     */
    static Map<String, String> options(final GatewayConfig config)
    {
        final Map<String, String> options = new TreeMap<>();
        options.put("--conntrack-max", String.valueOf(config.conntrackMax()));
        final StringBuilder pool = new StringBuilder();
        for (final int address : config.pool())
        {
            pool.append(pool.length() == 0 ? "" : ",").append(FlowTuple.addressToString(address));
        }
        options.put("--snat", pool.toString());
        options.put("--port-range", config.portLow() + "-" + config.portHigh());
        // endpoint-independent connections hold uses of mapping entries; the others hold none, and share ports
        options.put("--mapping", config.mapping().label());
        // address-dependent filtering's connections hold their mapping through permissions; the others do not
        options.put("--filtering", config.filtering() == EndpointDependence.ADDRESS_DEPENDENT ? "address-dependent" :
            "endpoint-independent or address-and-port-dependent");
        final StringBuilder services = new StringBuilder();
        for (final Services.ServiceSpec spec : config.services())
        {
            services.append(services.length() == 0 ? "" : " ").append(spec.key()).append('=');
            for (int b = 0; b < spec.backends.size(); b++)
            {
                final Services.ServiceSpec.BackendSpec backend = spec.backends.get(b);
                services.append(b == 0 ? "" : ",").append(FlowTuple.addressToString(backend.address)).append(':').append(backend.port);
            }
        }
        options.put("--service", services.length() == 0 ? "(none)" : services.toString());
        return options;
    }

    /**
     * Counts the DNAT connections a previous gateway left, each one live connection of its backend (the
     * least-connection schedulers read it, and their end takes it off again).
     */
    void countLive(final BackendCounters counters)
    {
        if (!attached)
        {
            return;
        }
        for (int entry = 0; entry < table.capacity(); entry++)
        {
            final int status = table.status(entry);
            final int backend = table.backend(entry);
            if (StatusDescriptor.phase(status) == StatusDescriptor.PHASE_CONFIRMED && (status & StatusDescriptor.DST_NAT) != 0 &&
                backend >= 0 && backend < BackendCounters.MAX_BACKENDS)
            {
                counters.add(backend, BackendCounters.LIVE, 1);
            }
        }
    }

    ConntrackTable table()
    {
        return table;
    }

    AffinityTable affinity()
    {
        return affinity;
    }

    /** Where the state is and what an attach found, for the start-up line. */
    String summary()
    {
        return summary;
    }

    /** Bytes of the conntrack table the kernel backs with huge pages now. */
    long hugePageBytes()
    {
        return hugePages != null ? hugePages.hugePageBytes() : Math.max(0, HugePageMemory.hugePageBytes(file.region(CONNTRACK)));
    }

    /** Releases the state file's lock; the file stays for the next gateway. */
    public void close()
    {
        CloseHelper.quietClose(file);
    }
}
