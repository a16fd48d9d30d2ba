package natgw.core.nat;

import natgw.core.conntrack.ConntrackCounter;
import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.EarlyDrop;
import natgw.core.conntrack.MappingDescriptor;
import natgw.core.conntrack.StatusDescriptor;
import natgw.core.conntrack.TcpSequence;
import natgw.core.conntrack.TcpState;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.core.flow.QueueSteering;
import natgw.core.packet.DropReason;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.TcpHeader;

import static natgw.core.conntrack.ConntrackTable.ORIGINAL;
import static natgw.core.conntrack.ConntrackTable.REPLY;

/**
 * Creates the connection for the first packet of a flow: chooses the NAT tuple and commits it to the
 * table (Linux: {@code nf_nat_core.c} get_unique_tuple + {@code nf_conntrack_core.c} confirm).
 * One per worker; not thread-safe, the table it writes is.
 *
 * <h2>reserve-then-confirm ({@link PortStrategy#RESERVE})</h2>
 * <ol>
 *   <li>take a free entry, write both tuples (reply = the candidate translation);</li>
 *   <li>reserve: link the reply node. The link is an atomic insert-if-absent, so a candidate held by
 *   any connection, confirmed or still being set up on another worker, is refused and the next one is
 *   tried; a won candidate is ours alone;</li>
 *   <li>confirm: mark the entry CONFIRMED and link the original node. If that fails, another worker
 *   created this very flow an instant ago: release the reservation and use its translation. Never a
 *   second mapping, never a drop.</li>
 * </ol>
 * <h2>endpoint-independent mapping ({@link EndpointDependence#ENDPOINT_INDEPENDENT}, reserve only)</h2>
 * A source-NAT connection takes its NAT address and port from its inside endpoint's mapping
 * ({@link MappingDescriptor}), found or created first by the same protocol: the mapping reserves its external
 * port (its REPLY node: the port is that endpoint's alone, RFC 4787 REQ-3), then confirms its endpoint (its
 * ORIGINAL node: one mapping per endpoint); a creator that loses the confirm gives its mapping up and takes the
 * winner's. The connection then holds a use of the mapping until it is freed, and the last use ends the mapping.
 * As no two endpoints share an external port, a connection's reply tuple can only clash with one of the same
 * endpoint: the same flow (adopted), an ended TCP connection (taken over), or a connection to the same server
 * through another destination (a service and directly: dropped, {@link DropReason#MAPPING_CLASH}).
 * <h2>the kernel's strategies</h2>
 * Candidates are only looked up (confirmed connections only: reserved ones are not in the kernel's
 * table), the packet goes on, and the tuples are inserted at confirm time, an optional busy window
 * later. A clash there is {@code insert_failed} and a drop, except a UDP clash with the same flow,
 * which adopts the winner (clash resolution, Linux 4.19+).
 */
public final class NatAllocator
{
    /** nf_nat_l4proto_unique_tuple: "doing a search of the entire range risks soft lockup". */
    static final int MAX_ATTEMPTS = 128;
    /** nf_nat_core.c NF_NAT_HARDER_THRESH: a round's last attempts may take over an ended connection's tuple. */
    static final int TAKE_OVER_ATTEMPTS = MAX_ATTEMPTS / 4;
    /** Candidates the search tries among the ports aimed at the worker's own queue before all the others. */
    static final int AIMED_ATTEMPTS = 16;
    /** Evictions before the new flow is dropped: more than one only when other workers took the freed entries. */
    private static final int EVICTION_ATTEMPTS = 4;
    private static final int MAX_RETRIES = 8;
    private static final long RANDOM_PORT_SECRET = 0x5EC2E7_5EEDL;

    private final ConntrackTable table;
    private final EarlyDrop earlyDrop;
    private final PortStrategy strategy;
    private final WorkerCounters counters;
    private final long raceWindowNs;
    private final boolean clashResolution;
    private final boolean endpointIndependent;
    private long random;
    /** The destination of the connection a new mapping is searched for (mappingFor). */
    private int firstDst;
    private int firstDstPort;
    /**
     * The first packet's sequence number (TCP): the new connection's original sequence end until the packet is
     * tracked, and what the SYN must come after to take an ended connection's tuple over (takeOverEnded).
     */
    private int sequence;
    /** The first packet's TSval (TCP), {@link TcpHeader#NO_TIMESTAMP} for none: what a take-over checks (refusedByServer). */
    private long timestamp = TcpHeader.NO_TIMESTAMP;
    /** The original tuple of a connection a SYN just ended to reopen it, and the NAT port it had ({@link #reopened}). */
    private long reopenedAddresses;
    private long reopenedPorts;
    private int reopenedPort = -1;
    /** The port the search tries first: the reopened connection's own, or -1. */
    private int preferredPort = -1;
    private int dropReason;
    private boolean created;
    /** Queues the TUN steers by a hash of the ports' sum ({@link #steeredQueues}); 1: none to aim at. */
    private int steeredQueues = 1;
    /** The queue this allocator's worker reads: where the replies of the connections it makes should come. */
    private int ownQueue;
    /** The queue the new connection's replies should come to; -1: any. */
    private int replyQueue = -1;
    /** The port the new connection's replies come from. */
    private int replySrcPort;
    /** With the TUN's flow steering: what its program reads, and replies aimed at the originals' queue; else null. */
    private KeptPortHints keptPortHints;
    private ConnectionQueueHints connectionHints;
    private int hintQueue;

    public NatAllocator(
        final ConntrackTable table,
        final PortStrategy strategy,
        final WorkerCounters counters,
        final long raceWindowNs,
        final boolean clashResolution,
        final long randomSeed)
    {
        this(table, strategy, counters, raceWindowNs, clashResolution, randomSeed, EndpointDependence.ADDRESS_AND_PORT_DEPENDENT);
    }

    /**
     * @param mapping {@link EndpointDependence#ENDPOINT_INDEPENDENT} (reserve strategy only) or
     *                {@link EndpointDependence#ADDRESS_AND_PORT_DEPENDENT}.
     */
    public NatAllocator(
        final ConntrackTable table,
        final PortStrategy strategy,
        final WorkerCounters counters,
        final long raceWindowNs,
        final boolean clashResolution,
        final long randomSeed,
        final EndpointDependence mapping)
    {
        requireMapping(strategy, mapping);
        this.endpointIndependent = mapping == EndpointDependence.ENDPOINT_INDEPENDENT;
        this.table = table;
        this.earlyDrop = new EarlyDrop(table);
        this.strategy = strategy;
        this.counters = counters;
        this.raceWindowNs = raceWindowNs;
        this.clashResolution = clashResolution;
        this.random = randomSeed == 0 ? 0x9E3779B97F4A7C15L : randomSeed;
    }

    /** Refuses a mapping behaviour the port strategy cannot give, saying why. */
    public static void requireMapping(final PortStrategy strategy, final EndpointDependence mapping)
    {
        if (mapping == EndpointDependence.ADDRESS_DEPENDENT)
        {
            throw new IllegalArgumentException("address-dependent mapping is not offered; use endpoint-independent " +
                "(RFC 4787 REQ-1) or address-and-port-dependent");
        }
        if (mapping == EndpointDependence.ENDPOINT_INDEPENDENT && !strategy.isAtomic())
        {
            throw new IllegalArgumentException("endpoint-independent mapping needs the reserve port strategy; " +
                strategy.label() + " emulates the kernel, whose mapping is address-and-port-dependent");
        }
    }

    /** The default mapping of a port strategy: endpoint-independent for reserve, the kernel's for the kernel's. */
    public static EndpointDependence defaultMapping(final PortStrategy strategy)
    {
        return strategy.isAtomic() ? EndpointDependence.ENDPOINT_INDEPENDENT : EndpointDependence.ADDRESS_AND_PORT_DEPENDENT;
    }

    /**
     * The TUN steers TCP and UDP other than SYNs by their ports ({@link QueueSteering#portsQueue} of {@code queues}),
     * and this allocator's worker reads {@code ownQueue}: the reserve strategy's searches then try first the ports c
     * whose replies (from port d') come to that queue, so the worker that made a connection sees its replies (its cache
     * lines, no wake-up of another worker); if a few of those are not free, all ports as before. A kept port is not
     * searched: its replies sum as its original did. The kernel's strategies search as the kernel does.
     */
    public NatAllocator steeredQueues(final int queues, final int ownQueue)
    {
        if (queues < 1 || ownQueue < 0 || ownQueue >= queues)
        {
            throw new IllegalArgumentException("queue " + ownQueue + " of " + queues);
        }
        this.steeredQueues = strategy.isAtomic() ? queues : 1;
        this.ownQueue = ownQueue;
        return this;
    }

    /**
     * The TUN steers by flows ({@code TunSteering.FLOWS}): a connection's originals by its addresses' and ports' sum
     * unless {@code hints} say its endpoint kept its port, replies to the pool by the ports' sum. Each new TCP or UDP
     * connection records in {@code hints} whether it kept its port, and the search aims a chosen port's replies at the
     * queue of the originals' flow sum rather than at {@link #steeredQueues}'s own queue (for TCP the same queue: a SYN
     * goes by its flow; a UDP flow's first datagram may have gone by an older hint).
     */
    public NatAllocator flowSteering(final KeptPortHints hints)
    {
        this.keptPortHints = hints;
        return this;
    }

    /**
     * The TUN steers by connections ({@code TunSteering.CONNECTIONS}): each connection made here writes {@code queue},
     * this worker's, into {@code hints} for its reply tuple, so its replies come to this worker whatever port it got
     * (nothing to aim: use with {@link #steeredQueues} of one queue; the atomic strategy's search then tries
     * {@value #AIMED_ATTEMPTS} ports of all, the second half of which may take over an ended connection's, before the
     * full search). Null: no hints.
     */
    public NatAllocator connectionSteering(final ConnectionQueueHints hints, final int queue)
    {
        this.connectionHints = hints;
        this.hintQueue = queue;
        return this;
    }

    public PortStrategy strategy()
    {
        return strategy;
    }

    /** True if source-NAT connections take their translation from their inside endpoint's mapping. */
    public boolean endpointIndependent()
    {
        return endpointIndependent;
    }

    /** True if the last {@link #connect} created a connection (false: it adopted one, or dropped). */
    public boolean created()
    {
        return created;
    }

    /** Why the last {@link #connect} returned -1. */
    public DropReason dropReason()
    {
        return DropReason.get(dropReason);
    }

    /**
     * Finds or creates the connection for a first packet with tuple {@code (origAddresses, origPorts)}, translated
     * to source {@code natAddress} (0: no source NAT) and destination {@code newDst:newDstPort}.
     * With source NAT the source port (ICMP: identifier) is searched in {@code portLow..portHigh}.
     *
     * @return the entry, with {@code cursor} set to it in the ORIGINAL direction; or -1 to drop the
     * packet ({@link #dropReason()}).
     */
    public int connect(
        final ConntrackTable.Cursor cursor,
        final long origAddresses,
        final long origPorts,
        final int natAddress,
        final int newDst,
        final int newDstPort,
        final int portLow,
        final int portHigh,
        final int flags,
        final int extra,
        final int deadlineMs)
    {
        return connect(cursor, origAddresses, origPorts, natAddress, newDst, newDstPort, portLow, portHigh, flags, extra, deadlineMs, true, 0,
            TcpHeader.NO_TIMESTAMP);
    }

    /**
     * {@link #connect(ConntrackTable.Cursor, long, long, int, int, int, int, int, int, int, int)}; with {@code onMapping}
     * false the source port is searched for this connection alone, as Linux and IPVS masquerade a service's client
     * (among ports no mapping holds): an endpoint's mapping would give a connection to a backend the 4-tuple an
     * earlier connection of the endpoint to that backend, through another address, left in the backend's TIME_WAIT.
     * {@code sequence} is the first packet's TCP sequence number (ignored for other protocols): a new connection's original
     * direction starts there ({@link ConntrackTable#sequenceEnd}), and a SYN takes an ended connection's NAT tuple over
     * only if the server, which may hold the 4-tuple in TIME_WAIT, would take the SYN for a new connection: if
     * {@code sequence} comes after that connection's original sequence end (Linux's {@code nf_seq_has_advanced}), and,
     * with the reserve strategy where the server closed first, by its {@code timestamp} too (the TSval of its TCP
     * timestamp option, {@link TcpHeader#timestampValue}, or {@link TcpHeader#NO_TIMESTAMP}; {@link #refusedByServer}).
     */
    public int connect(
        final ConntrackTable.Cursor cursor,
        final long origAddresses,
        final long origPorts,
        final int natAddress,
        final int newDst,
        final int newDstPort,
        final int portLow,
        final int portHigh,
        final int flags,
        final int extra,
        final int deadlineMs,
        final boolean onMapping,
        final int sequence,
        final long timestamp)
    {
        created = false;
        this.sequence = sequence;
        this.timestamp = timestamp;
        preferredPort = strategy.isAtomic() && origAddresses == reopenedAddresses && origPorts == reopenedPorts ? reopenedPort : -1;
        reopenedPort = -1;
        aimReplies(origAddresses, origPorts, newDstPort);
        if (endpointIndependent && natAddress != 0 && onMapping)
        {
            return connectMapped(cursor, origAddresses, origPorts, natAddress, newDst, newDstPort, portLow, portHigh, flags, extra,
                deadlineMs);
        }
        for (int retry = 0; retry < MAX_RETRIES; retry++)
        {
            final int entry = allocate(cursor);
            if (entry < 0)
            {
                return drop(DropReason.TABLE_FULL);
            }
            final int protocol = FlowTuple.protocol(origPorts);
            final int srcPort = FlowTuple.srcPort(origPorts);
            final int newSrc = natAddress != 0 ? natAddress : FlowTuple.srcAddress(origAddresses);
            table.initialise(entry, origAddresses, origPorts, FlowTuple.packAddresses(newDst, newSrc), replyPorts(protocol, newDstPort, srcPort),
                flags, extra, deadlineMs);
            startSequence(entry, protocol);
            final int result = strategy.isAtomic() ?
                reserveThenConfirm(cursor, entry, origAddresses, origPorts, natAddress != 0, portLow, portHigh) :
                checkThenInsert(cursor, entry, origAddresses, origPorts, natAddress != 0, portLow, portHigh);
            if (result != RETRY)
            {
                return result;
            }
        }
        return drop(DropReason.INSERT_FAILED);
    }

    private static final int RETRY = -2;

    /**
     * Creates the connection for a first packet from outside to a live mapping (endpoint-independent or
     * address-dependent filtering): its original tuple is the packet's, to the mapping's external endpoint, its reply
     * tuple from the inside endpoint back to the sender. It holds a use of the mapping, as an outbound one does.
     *
     * @param mapping       the mapping found through its external endpoint, with {@code mappingStatus}.
     * @param sequence      the first packet's TCP sequence number, where its original direction starts (other protocols: 0).
     * @return the entry, with {@code cursor} set to it in the ORIGINAL direction; or -1 to drop the packet
     * ({@link #dropReason()}: {@link DropReason#NO_MAPPING} if the mapping ended meanwhile).
     */
    public int accept(
        final ConntrackTable.Cursor cursor,
        final long origAddresses,
        final long origPorts,
        final int mapping,
        final int mappingStatus,
        final int flags,
        final int deadlineMs,
        final int sequence)
    {
        created = false;
        this.sequence = sequence;
        this.timestamp = TcpHeader.NO_TIMESTAMP;
        preferredPort = -1;
        int status = mappingStatus;
        for (int retry = 0; retry < MAX_RETRIES; retry++)
        {
            if (!table.acquire(mapping, status))
            {
                return drop(DropReason.NO_MAPPING);
            }
            // held: its tuples stay; and it must be its endpoint's mapping, not one that lost its endpoint's confirm
            final long endpointAddresses = table.tupleAddresses(mapping, ORIGINAL);
            final long endpointPorts = table.tuplePorts(mapping, ORIGINAL);
            if (!table.lookup(cursor, endpointAddresses, endpointPorts) || cursor.entry() != mapping || cursor.dir() != ORIGINAL)
            {
                table.releaseUse(cursor, mapping);
                return drop(DropReason.NO_MAPPING);
            }
            int parent = mapping;
            if (table.permissions())
            {
                // address-dependent filtering: only a remote address the endpoint has a connection to
                parent = permitted(cursor, mapping, FlowTuple.srcAddress(endpointAddresses), FlowTuple.protocol(origPorts),
                    FlowTuple.srcPort(endpointPorts), FlowTuple.srcAddress(origAddresses));
                if (parent < 0)
                {
                    return drop(DropReason.FILTERED);
                }
            }
            final int result = connectOn(cursor, parent, origAddresses, origPorts,
                FlowTuple.srcAddress(origAddresses), FlowTuple.srcPort(origPorts),
                FlowTuple.srcAddress(endpointAddresses), FlowTuple.srcPort(endpointPorts), flags, 0, deadlineMs);
            if (result != RETRY)
            {
                return result;
            }
            status = table.status(mapping);
        }
        return drop(DropReason.INSERT_FAILED);
    }

    /** {@link #connect} with endpoint-independent mapping: the endpoint's mapping first, then the connection on it. */
    private int connectMapped(
        final ConntrackTable.Cursor cursor,
        final long origAddresses,
        final long origPorts,
        final int natAddress,
        final int newDst,
        final int newDstPort,
        final int portLow,
        final int portHigh,
        final int flags,
        final int extra,
        final int deadlineMs)
    {
        final int protocol = FlowTuple.protocol(origPorts);
        final int src = FlowTuple.srcAddress(origAddresses);
        final int srcPort = FlowTuple.srcPort(origPorts);
        for (int retry = 0; retry < MAX_MAPPING_RETRIES; retry++)
        {
            firstDst = newDst;
            firstDstPort = newDstPort;
            final int mapping = mappingFor(cursor, protocol, src, srcPort, natAddress, portLow, portHigh, deadlineMs);
            if (mapping == RETRY)
            {
                Thread.onSpinWait(); // the endpoint's mapping is ending, or another worker's confirm just won
                continue;
            }
            if (mapping < 0)
            {
                return -1;
            }
            final long external = table.tupleAddresses(mapping, REPLY);
            final long externalPorts = table.tuplePorts(mapping, REPLY);
            int parent = mapping;
            if (table.permissions())
            {
                parent = permissionFor(cursor, mapping, protocol, src, srcPort, FlowTuple.dstAddress(origAddresses), deadlineMs);
                if (parent == RETRY)
                {
                    Thread.onSpinWait();
                    continue;
                }
                if (parent < 0)
                {
                    return -1;
                }
            }
            final int result = connectOn(cursor, parent, origAddresses, origPorts,
                MappingDescriptor.poolAddress(external), MappingDescriptor.externalPort(externalPorts), newDst, newDstPort,
                flags, extra, deadlineMs);
            if (result != RETRY)
            {
                return result;
            }
        }
        counters.increment(ConntrackCounter.DROP);
        return drop(DropReason.INSERT_FAILED);
    }

    /** Lookups of an endpoint whose mapping is ending or being confirmed elsewhere before giving up: a few steps of theirs. */
    private static final int MAX_MAPPING_RETRIES = 64;

    /**
     * The inside endpoint's live mapping with a use taken for the caller, or a new one with the creator's use;
     * {@link #RETRY} if the endpoint's mapping is ending or another worker confirmed one first; -1 to drop.
     */
    private int mappingFor(
        final ConntrackTable.Cursor cursor,
        final int protocol,
        final int src,
        final int srcPort,
        final int natAddress,
        final int portLow,
        final int portHigh,
        final int deadlineMs)
    {
        final long endpointAddresses = MappingDescriptor.endpointAddresses(src);
        final long endpointPorts = MappingDescriptor.endpointPorts(protocol, srcPort);
        if (table.lookup(cursor, endpointAddresses, endpointPorts))
        {
            final int mapping = cursor.entry();
            final int status = cursor.status();
            if (cursor.dir() == ORIGINAL && table.acquire(mapping, status))
            {
                return mapping;
            }
            table.helpEnd(cursor, mapping, status);
            return RETRY;
        }
        final int mapping = allocate(cursor);
        if (mapping < 0)
        {
            return drop(DropReason.TABLE_FULL);
        }
        table.initialise(mapping, endpointAddresses, endpointPorts, MappingDescriptor.externalAddresses(natAddress),
            MappingDescriptor.externalPorts(protocol, srcPort), StatusDescriptor.MAPPED, 0, deadlineMs);
        table.startUses(mapping);
        if (!search(cursor, mapping, endpointAddresses, endpointPorts, portLow, portHigh, false))
        {
            return exhausted(cursor, mapping);
        }
        table.confirm(mapping);
        if (!table.claim(cursor, mapping, ORIGINAL))
        {
            table.disown(cursor, mapping);
            return RETRY;
        }
        counters.increment(ConntrackCounter.MAPPINGS_CREATED);
        return mapping;
    }

    /**
     * Address-dependent filtering: the permission of {@code remote} for the endpoint of {@code mapping} (held by the
     * caller), with a use taken for the caller, whose use of the mapping goes (the permission holds one); a new one
     * with the caller's use of the mapping as its own; {@link #RETRY}, the caller's use released, if the permission
     * is ending or another worker confirmed one first; -1 to drop.
     */
    private int permissionFor(
        final ConntrackTable.Cursor cursor,
        final int mapping,
        final int protocol,
        final int inside,
        final int insidePort,
        final int remote,
        final int deadlineMs)
    {
        final long permissionAddresses = MappingDescriptor.permissionAddresses(inside, remote);
        final long permissionPorts = MappingDescriptor.permissionPorts(protocol, insidePort);
        if (table.lookup(cursor, permissionAddresses, permissionPorts))
        {
            final int permission = cursor.entry();
            final int status = cursor.status();
            final boolean taken = cursor.dir() == ORIGINAL && table.acquire(permission, status);
            if (!taken)
            {
                table.helpEnd(cursor, permission, status);
            }
            table.releaseUse(cursor, mapping);
            return taken ? permission : RETRY;
        }
        final int permission = allocate(cursor);
        if (permission < 0)
        {
            table.releaseUse(cursor, mapping);
            return drop(DropReason.TABLE_FULL);
        }
        table.initialise(permission, permissionAddresses, permissionPorts, FlowTuple.packAddresses(remote, inside),
            MappingDescriptor.permissionReplyPorts(protocol, insidePort), StatusDescriptor.MAPPED, 0, deadlineMs);
        table.startUses(permission);
        // from here the caller's use of the mapping is the permission's: freeing it releases the use
        if (!table.claim(cursor, permission, REPLY))
        {
            table.abandon(cursor, permission);
            return RETRY;
        }
        table.confirm(permission);
        if (!table.claim(cursor, permission, ORIGINAL))
        {
            table.disown(cursor, permission);
            return RETRY;
        }
        return permission;
    }

    /**
     * The live permission of {@code remote} for the endpoint of {@code mapping}, with a use taken; -1 if there is none.
     * The caller's use of the mapping goes either way.
     */
    private int permitted(
        final ConntrackTable.Cursor cursor, final int mapping, final int inside, final int protocol, final int insidePort, final int remote)
    {
        final boolean found = table.lookup(cursor, MappingDescriptor.permissionAddresses(inside, remote),
            MappingDescriptor.permissionPorts(protocol, insidePort)) && cursor.dir() == ORIGINAL;
        final int permission = cursor.entry();
        final boolean taken = found && table.acquire(permission, cursor.status());
        table.releaseUse(cursor, mapping);
        return taken ? permission : -1;
    }

    /**
     * Creates a connection on a mapping the caller holds a use of, translated to source {@code newSrc:newSrcPort} and
     * destination {@code newDst:newDstPort}; the use goes to the connection (or is released if it fails). The reply
     * tuple is fixed by the mapping: no search.
     */
    private int connectOn(
        final ConntrackTable.Cursor cursor,
        final int mapping,
        final long origAddresses,
        final long origPorts,
        final int newSrc,
        final int newSrcPort,
        final int newDst,
        final int newDstPort,
        final int flags,
        final int extra,
        final int deadlineMs)
    {
        final int entry = allocate(cursor);
        if (entry < 0)
        {
            table.releaseUse(cursor, mapping);
            return drop(DropReason.TABLE_FULL);
        }
        table.initialise(entry, origAddresses, origPorts, FlowTuple.packAddresses(newDst, newSrc),
            replyPorts(FlowTuple.protocol(origPorts), newDstPort, newSrcPort), flags | StatusDescriptor.MAPPED, extra, deadlineMs);
        startSequence(entry, FlowTuple.protocol(origPorts));
        // from here the use is the entry's: whatever ends it, abandon or kill, releases the use when it is freed;
        // the endpoint's port is fixed, there is no other to try: an ended holder goes whatever its sequence end
        if (!table.claim(cursor, entry, REPLY) && !(takeOverEnded(cursor, entry, false) && table.claim(cursor, entry, REPLY)))
        {
            final int adopted = adoptSameFlow(cursor, entry, origAddresses, origPorts);
            if (adopted != -1)
            {
                return adopted;
            }
            if (sameFlowPending(cursor, entry, origAddresses, origPorts))
            {
                table.abandon(cursor, entry);
                return RETRY;
            }
            table.abandon(cursor, entry);
            counters.increment(ConntrackCounter.DROP);
            return drop(DropReason.MAPPING_CLASH);
        }
        return publish(cursor, entry, origAddresses, origPorts);
    }

    private int reserveThenConfirm(
        final ConntrackTable.Cursor cursor,
        final int entry,
        final long origAddresses,
        final long origPorts,
        final boolean searchPort,
        final int portLow,
        final int portHigh)
    {
        if (!searchPort)
        {
            if (!table.claim(cursor, entry, REPLY))
            {
                final int adopted = adoptSameFlow(cursor, entry, origAddresses, origPorts);
                if (adopted != -1)
                {
                    return adopted;
                }
                if (sameFlowPending(cursor, entry, origAddresses, origPorts))
                {
                    table.abandon(cursor, entry);
                    return RETRY; // it will own the flow an instant from now: adopt it then
                }
                return failInsert(cursor, entry);
            }
        }
        else if (!search(cursor, entry, origAddresses, origPorts, portLow, portHigh, true))
        {
            if (cursor.entry() >= 0)
            {
                return cursor.entry(); // adopted the same flow's translation while searching
            }
            return exhausted(cursor, entry);
        }
        return publish(cursor, entry, origAddresses, origPorts);
    }

    /** Confirms an entry whose reply tuple is reserved and claims its original tuple; loses it to the same flow's. */
    private int publish(final ConntrackTable.Cursor cursor, final int entry, final long origAddresses, final long origPorts)
    {
        table.confirm(entry);
        // read while we still own the entry: once ORIGINAL is claimed a flush may end and reuse it
        final int confirmed = table.status(entry);
        if (!table.claim(cursor, entry, ORIGINAL))
        {
            table.abandon(cursor, entry);
            if (table.lookup(cursor, origAddresses, origPorts) && cursor.dir() == ORIGINAL &&
                StatusDescriptor.phase(cursor.status()) == StatusDescriptor.PHASE_CONFIRMED)
            {
                counters.increment(ConntrackCounter.ADOPTED);
                return cursor.entry();
            }
            return RETRY;
        }
        return inserted(cursor, entry, confirmed);
    }

    private int checkThenInsert(
        final ConntrackTable.Cursor cursor,
        final int entry,
        final long origAddresses,
        final long origPorts,
        final boolean searchPort,
        final int portLow,
        final int portHigh)
    {
        if (searchPort && !search(cursor, entry, origAddresses, origPorts, portLow, portHigh, true))
        {
            return exhausted(cursor, entry);
        }

        // in the kernel the packet travels on through the stack before __nf_conntrack_confirm
        if (raceWindowNs > 0)
        {
            final long until = System.nanoTime() + raceWindowNs;
            while (System.nanoTime() < until)
            {
                Thread.onSpinWait();
            }
        }

        // confirm: the original tuple first, as the kernel's clash check does
        if (table.lookup(cursor, origAddresses, origPorts) || !table.claim(cursor, entry, REPLY))
        {
            return clash(cursor, entry, origAddresses, origPorts);
        }
        table.confirm(entry);
        final int confirmed = table.status(entry);
        if (!table.claim(cursor, entry, ORIGINAL))
        {
            return clash(cursor, entry, origAddresses, origPorts);
        }
        return inserted(cursor, entry, confirmed);
    }

    /** The connection is created; {@code status} is its status read before it was published. */
    private int inserted(final ConntrackTable.Cursor cursor, final int entry, final int status)
    {
        counters.increment(ConntrackCounter.INSERT);
        cursor.set(entry, ORIGINAL, status);
        created = true;
        if (keptPortHints != null && (status & StatusDescriptor.SRC_NAT) != 0)
        {
            hint(entry);
        }
        if (connectionHints != null)
        {
            // before the connection's first packet is written: the peer may answer inside that write
            connectionHints.record(table.tupleAddresses(entry, REPLY), table.tuplePorts(entry, REPLY), hintQueue);
        }
        return entry;
    }

    private int exhausted(final ConntrackTable.Cursor cursor, final int entry)
    {
        table.abandon(cursor, entry);
        counters.increment(ConntrackCounter.POOL_EXHAUSTED);
        return drop(DropReason.POOL_EXHAUSTED);
    }

    /** nf_ct_resolve_clash: UDP adopts an entry of the same flow; anything else is dropped. */
    private int clash(final ConntrackTable.Cursor cursor, final int entry, final long origAddresses, final long origPorts)
    {
        if (clashResolution && FlowTuple.protocol(origPorts) == Ipv4Header.PROTO_UDP)
        {
            final int adopted = adoptSameFlow(cursor, entry, origAddresses, origPorts);
            if (adopted != -1)
            {
                counters.increment(ConntrackCounter.CLASH_RESOLVE);
                return adopted;
            }
        }
        return failInsert(cursor, entry);
    }

    private int failInsert(final ConntrackTable.Cursor cursor, final int entry)
    {
        table.abandon(cursor, entry);
        counters.increment(ConntrackCounter.INSERT_FAILED);
        counters.increment(ConntrackCounter.DROP);
        return drop(DropReason.INSERT_FAILED);
    }

    /**
     * Releases our entry and returns the connection that owns the same original tuple, or -1. Only an
     * owner of the ORIGINAL tuple is adopted: a connection that holds the reply tuple but has not claimed
     * the original yet may still lose it to a third packet of the flow, and adopting it would give the
     * flow two translations.
     */
    private int adoptSameFlow(final ConntrackTable.Cursor cursor, final int entry, final long origAddresses, final long origPorts)
    {
        if (table.lookup(cursor, origAddresses, origPorts) && cursor.dir() == ORIGINAL && cursor.entry() != entry &&
            StatusDescriptor.phase(cursor.status()) == StatusDescriptor.PHASE_CONFIRMED && table.stillValid(cursor))
        {
            final int other = cursor.entry();
            final int status = cursor.status();
            table.abandon(cursor, entry);
            cursor.set(other, ORIGINAL, status);
            counters.increment(ConntrackCounter.ADOPTED);
            return other;
        }
        return -1;
    }

    /** True if the holder of our reply tuple is a connection of the same flow still being set up. */
    private boolean sameFlowPending(final ConntrackTable.Cursor cursor, final int entry, final long origAddresses, final long origPorts)
    {
        return table.lookup(cursor, table.tupleAddresses(entry, REPLY), table.tuplePorts(entry, REPLY)) &&
            cursor.entry() != entry &&
            table.tupleAddresses(cursor.entry(), ORIGINAL) == origAddresses && table.tuplePorts(cursor.entry(), ORIGINAL) == origPorts &&
            table.stillValid(cursor);
    }

    /**
     * The source port search (nf_nat_l4proto_unique_tuple): the client's own port first if the strategy
     * preserves ports, then {@value #MAX_ATTEMPTS} candidates from an offset, then halving windows from
     * new offsets; with {@link #steeredQueues}, first a few among the ports whose replies come to the worker's
     * queue. The atomic strategy claims each candidate as it tries it; the kernel's only look it up
     * among linked connections (the claim comes later, at confirm). Returns true with the entry's reply
     * tuple set to the chosen candidate; false if none was found, and then, for the atomic strategy,
     * {@code cursor.entry()} is the same flow's connection if one was adopted on the way ({@code mayAdopt}: a
     * connection, not a mapping), else -1.
     */
    private boolean search(
        final ConntrackTable.Cursor cursor,
        final int entry,
        final long origAddresses,
        final long origPorts,
        final int portLow,
        final int portHigh,
        final boolean mayAdopt)
    {
        final int protocol = FlowTuple.protocol(origPorts);
        final long replyAddresses = table.tupleAddresses(entry, REPLY);
        final long entryReplyPorts = table.tuplePorts(entry, REPLY);
        final int tupleProtocol = (int)(entryReplyPorts >>> 32); // with a mapping's mark, if it is one
        final int newDstPort = FlowTuple.srcPort(entryReplyPorts);
        final int low = protocol == Ipv4Header.PROTO_ICMP ? 0 : portLow;
        final int high = protocol == Ipv4Header.PROTO_ICMP ? 0xFFFF : portHigh;
        final int srcPort = FlowTuple.srcPort(origPorts);
        cursor.set(-1, ORIGINAL, 0);
        if (preferredPort >= low && preferredPort <= high && preferredPort != srcPort &&
            tryCandidate(cursor, entry, replyAddresses, replyPorts(tupleProtocol, newDstPort, preferredPort)))
        {
            return true;
        }
        if (strategy.preservesPort() && srcPort >= low && srcPort <= high)
        {
            if (tryCandidate(cursor, entry, replyAddresses, replyPorts(tupleProtocol, newDstPort, srcPort)))
            {
                return true;
            }
            if (mayAdopt && strategy.isAtomic() && adoptSameFlow(cursor, entry, origAddresses, origPorts) != -1)
            {
                return false;
            }
        }
        if (replyQueue >= 0 && searchAimed(cursor, entry, replyAddresses, tupleProtocol, newDstPort, low, high))
        {
            return true;
        }
        final int range = high - low + 1;
        int attempts = Math.min(range, MAX_ATTEMPTS);
        int offset = strategy == PortStrategy.RANDOM ?
            FlowTuple.hash(replyAddresses, newDstPort, RANDOM_PORT_SECRET) & 0xFFFF :
            nextRandom16();
        while (true)
        {
            for (int i = 0; i < attempts; i++, offset++)
            {
                final int port = low + (int)((offset & 0xFFFF_FFFFL) % range);
                if (tryCandidate(cursor, entry, replyAddresses, replyPorts(tupleProtocol, newDstPort, port), attempts - i))
                {
                    return true;
                }
            }
            if (attempts >= range || attempts < 16)
            {
                cursor.set(-1, ORIGINAL, 0);
                return false;
            }
            attempts /= 2;
            offset = nextRandom16();
        }
    }

    /**
     * Up to {@value #AIMED_ATTEMPTS} candidates among the ports c in {@code low..high} whose replies come to
     * {@link #replyQueue} ({@link QueueSteering#portsQueue} of the reply's ports). The first half only free ones; the
     * second half may take a candidate over from an ended connection, as the full search's last attempts do (a TCP
     * SYN past the holder's sequence end, {@link #takeOverEnded}): a reply on another worker's queue wakes that
     * worker, on an idle CPU as often as not, where the worker that sent the SYN is running or about to sleep. Measured
     * in the lab (docs/BENCHMARKS.md, session 17): the open loop's connect p50 0.85x and 0.93x of a search that never
     * took over here, where ended connections held many of the aimed ports. The ports are scanned from a random one
     * and those of other queues skipped (no table access), at most a few times as many as the queues need.
     */
    private boolean searchAimed(
        final ConntrackTable.Cursor cursor,
        final int entry,
        final long replyAddresses,
        final int tupleProtocol,
        final int newDstPort,
        final int low,
        final int high)
    {
        final int queues = steeredQueues;
        final int range = high - low + 1;
        final int scan = Math.min(range, AIMED_ATTEMPTS * queues * 4);
        int offset = nextRandom16();
        for (int i = 0, attempts = 0; i < scan && attempts < AIMED_ATTEMPTS; i++, offset++)
        {
            final int port = low + (int)((offset & 0xFFFF_FFFFL) % range);
            if (QueueSteering.portsQueue(replySrcPort, port, queues) != replyQueue)
            {
                continue;
            }
            attempts++;
            if (tryCandidate(cursor, entry, replyAddresses, replyPorts(tupleProtocol, newDstPort, port),
                attempts > AIMED_ATTEMPTS / 2 ? TAKE_OVER_ATTEMPTS : Integer.MAX_VALUE))
            {
                return true;
            }
        }
        return false;
    }

    private void aimReplies(final long origAddresses, final long origPorts, final int replySrcPort)
    {
        final int protocol = FlowTuple.protocol(origPorts);
        this.replySrcPort = replySrcPort;
        if (protocol != Ipv4Header.PROTO_TCP && protocol != Ipv4Header.PROTO_UDP)
        {
            replyQueue = -1;
        }
        else if (steeredQueues > 1)
        {
            replyQueue = keptPortHints == null ? ownQueue : QueueSteering.flowQueue(origAddresses, origPorts, steeredQueues);
        }
        else
        {
            // with connections steering the hint brings the replies of any port: the short search over all ports (one
            // queue), which takes an ended connection's port over after half its candidates instead of walking the
            // crowded pool
            replyQueue = connectionHints != null && strategy.isAtomic() ? 0 : -1;
        }
    }

    /**
     * Tells the steering program whether the source-NAT connection just made kept its endpoint's port. Read after the
     * ORIGINAL claim, when a flush could already have reused the entry: a wrong hint only costs a hop to another worker.
     */
    private void hint(final int entry)
    {
        final long origPorts = table.tuplePorts(entry, ORIGINAL);
        final int protocol = FlowTuple.protocol(origPorts);
        if (protocol == Ipv4Header.PROTO_TCP || protocol == Ipv4Header.PROTO_UDP)
        {
            final int port = FlowTuple.srcPort(origPorts);
            keptPortHints.record(FlowTuple.srcAddress(table.tupleAddresses(entry, ORIGINAL)), port,
                FlowTuple.dstPort(table.tuplePorts(entry, REPLY)) == port);
        }
    }

    private boolean tryCandidate(final ConntrackTable.Cursor cursor, final int entry, final long replyAddresses, final long replyPorts)
    {
        return tryCandidate(cursor, entry, replyAddresses, replyPorts, Integer.MAX_VALUE);
    }

    /**
     * One candidate; with {@code attemptsLeft} at most {@value #TAKE_OVER_ATTEMPTS} a TCP SYN may take the
     * candidate over from a connection that has ended (see {@link #takeOverEnded}).
     */
    private boolean tryCandidate(
        final ConntrackTable.Cursor cursor, final int entry, final long replyAddresses, final long replyPorts, final int attemptsLeft)
    {
        counters.increment(ConntrackCounter.PORT_SEARCH_ATTEMPTS);
        if (MappingDescriptor.isMappingTuple(replyPorts) && table.lookup(cursor,
            FlowTuple.packAddresses(firstDst, FlowTuple.dstAddress(replyAddresses)),
            replyPorts(FlowTuple.protocol(replyPorts), firstDstPort, FlowTuple.dstPort(replyPorts))) &&
            (attemptsLeft > TAKE_OVER_ATTEMPTS || refusedByServer(cursor.entry(), cursor.status(), FlowTuple.protocol(replyPorts))))
        {
            // the first connection's tuple is held, by an ended connection of another endpoint: another port, as the
            // kernel's search does, so the server never sees a 4-tuple it may still hold in TIME_WAIT; on the last
            // attempts the connection may take the holder over, if its SYN is past the holder's sequence end and,
            // where the server closed first, not older by its timestamp
            return false;
        }
        if (endpointIndependent && !MappingDescriptor.isMappingTuple(replyPorts) && table.lookup(cursor,
            MappingDescriptor.externalAddresses(FlowTuple.dstAddress(replyAddresses)),
            MappingDescriptor.externalPorts(FlowTuple.protocol(replyPorts), FlowTuple.dstPort(replyPorts))))
        {
            return false; // an inside endpoint's external port: not for a connection of another
        }
        table.replyTuple(entry, replyAddresses, replyPorts);
        final boolean mayTakeOver = attemptsLeft <= TAKE_OVER_ATTEMPTS;
        if (strategy.isAtomic())
        {
            return table.claim(cursor, entry, REPLY) ||
                mayTakeOver && takeOverEnded(cursor, entry, true) && table.claim(cursor, entry, REPLY);
        }
        return !table.lookup(cursor, replyAddresses, replyPorts) || mayTakeOver && takeOverEnded(cursor, entry, true);
    }

    /**
     * Ends the connection that holds our candidate as its translation if it has ended itself: TCP in TIME_WAIT or
     * CLOSE, source-NATed, while we set up a TCP connection from its SYN. Its NAT tuple then goes to the new
     * connection, as Linux 6.x's {@code nf_nat_used_tuple_harder} does it on a search's last attempts; without it,
     * a pool under thousands of short connections a second runs out of tuples that only wait out their timers.
     * With {@code requireAdvance}, only if the SYN's sequence comes after the holder's original sequence end, as
     * Linux's {@code nf_seq_has_advanced}: a server that holds the 4-tuple in TIME_WAIT takes a SYN for a new
     * connection only then (RFC 6191, {@code tcp_timewait_state_process}); before, it answers with an ACK, the client
     * resets, and the connection waits a SYN retransmission. The search then goes on to another candidate.
     *
     * @return true if the holder was ended here, so the candidate may be claimed again.
     */
    private boolean takeOverEnded(final ConntrackTable.Cursor cursor, final int entry, final boolean requireAdvance)
    {
        final long replyAddresses = table.tupleAddresses(entry, REPLY);
        final long replyPorts = table.tuplePorts(entry, REPLY);
        if (MappingDescriptor.isMappingTuple(replyPorts) || FlowTuple.protocol(replyPorts) != Ipv4Header.PROTO_TCP ||
            StatusDescriptor.tcpState(table.status(entry)) != TcpState.SYN_SENT ||
            !table.lookup(cursor, replyAddresses, replyPorts) || cursor.dir() != REPLY || cursor.entry() == entry)
        {
            return false;
        }
        final int holder = cursor.entry();
        // the status carries the incarnation the kill's CAS checks; the tuples, read after it, must still be ours,
        // or the entry was reused for another connection between the lookup and the status read
        final int status = table.status(holder);
        if (StatusDescriptor.phase(status) != StatusDescriptor.PHASE_CONFIRMED || (status & StatusDescriptor.SRC_NAT) == 0 ||
            !TcpState.isReopenable(StatusDescriptor.tcpState(status)) ||
            table.tupleAddresses(holder, REPLY) != replyAddresses || table.tuplePorts(holder, REPLY) != replyPorts ||
            requireAdvance && refusedByServer(holder, status, Ipv4Header.PROTO_TCP))
        {
            return false;
        }
        // the sequence end too was read after the status: the kill's CAS fails if the entry was reused since
        if (!table.kill(cursor, holder, status))
        {
            return false;
        }
        counters.increment(ConntrackCounter.TAKEN_OVER);
        return true;
    }

    /**
     * True if {@code holder} is a TCP connection whose original sequence end the first packet's sequence is not past;
     * counted ({@link ConntrackCounter#TAKE_OVER_REFUSED}) if the holder has ended, so that it could have been taken over.
     */
    private boolean refusedBySequence(final int holder, final int protocol)
    {
        if (sequencePast(holder, protocol))
        {
            return false;
        }
        if (TcpState.isReopenable(StatusDescriptor.tcpState(table.status(holder))))
        {
            counters.increment(ConntrackCounter.TAKE_OVER_REFUSED);
        }
        return true;
    }

    /**
     * Asks the next connect of {@code origAddresses, origPorts} to try {@code natPort} first: the NAT port of the
     * connection a SYN on the same tuple has just ended to reopen it. The server may still hold that connection's
     * 4-tuple in TIME_WAIT, and the client, reusing its own 4-tuple, goes on with its sequence and timestamps there, so
     * the server takes the SYN on it; on another port the SYN would be a take-over's gamble, and the freed tuple a free
     * port for another client's SYN, which the server could refuse (PAWS). The reserve strategy only: Linux's reopen
     * searches afresh.
     */
    public void reopened(final long origAddresses, final long origPorts, final int natPort)
    {
        reopenedAddresses = origAddresses;
        reopenedPorts = origPorts;
        reopenedPort = natPort;
    }

    /**
     * True if the server, which may hold the holder's 4-tuple in TIME_WAIT, would not take our SYN on it for a new
     * connection: Linux's {@code tcp_timewait_state_process} takes it if its timestamp passes the PAWS check (RFC 7323
     * 5.3: a TSval not before the last it took) and either its sequence is past the old connection's end or its TSval
     * after that last one. Otherwise it answers with the old connection's ACK, and the client's connect waits a SYN
     * retransmission, a second or more. Where the server closed first, tracking recorded that last TSval, the inside
     * host's closing FIN's ({@link ConntrackTable#closingTimestamp}), and the reserve strategy decides as the server
     * does, to the record's precision ({@link ConntrackCounter#TAKE_OVER_REFUSED_TIMESTAMP} counts a refusal by it);
     * else, and for the kernel's strategies (Linux's own rule, {@code nf_nat_used_tuple_harder}), the sequence alone
     * decides. The sequence alone lets about half of those SYNs through to a refusal, since the clients measured
     * (Linux 6.18) offset their timestamps per connection.
     */
    private boolean refusedByServer(final int holder, final int holderStatus, final int protocol)
    {
        final int order = timestampOrder(holder, holderStatus);
        if (order < 0)
        {
            counters.increment(ConntrackCounter.TAKE_OVER_REFUSED_TIMESTAMP);
            return true;
        }
        return order == 0 && refusedBySequence(holder, protocol);
    }

    /**
     * The order of our SYN's TSval against the holder's closing timestamp ({@link ConntrackTable#closingTimestampOrder}):
     * 1 after it, -1 before it (or too near to tell), 0 equal; also 0 when there is nothing to compare: no TSval, no
     * closing timestamp recorded, a holder not ended (never taken over), or a kernel strategy.
     */
    private int timestampOrder(final int holder, final int holderStatus)
    {
        if (!strategy.isAtomic() || timestamp == TcpHeader.NO_TIMESTAMP || !TcpState.isReopenable(StatusDescriptor.tcpState(holderStatus)))
        {
            return 0;
        }
        return table.closingTimestampOrder(holder, holderStatus, (int)timestamp);
    }

    /** True unless {@code holder} is a TCP connection whose original sequence end the first packet's sequence is not past. */
    private boolean sequencePast(final int holder, final int protocol)
    {
        return protocol != Ipv4Header.PROTO_TCP || TcpSequence.after(sequence, table.sequenceEnd(holder));
    }

    /** A new TCP connection's original direction starts at its first packet's sequence (tracking raises it). */
    private void startSequence(final int entry, final int protocol)
    {
        if (protocol == Ipv4Header.PROTO_TCP)
        {
            table.sequenceEnd(entry, sequence);
        }
    }

    /**
     * A free entry; when the table is full, evicts one unassured connection near a random spot
     * ({@link EarlyDrop}, as the kernel's early_drop) and tries again, a few times if another worker takes the
     * entry freed first.
     */
    private int allocate(final ConntrackTable.Cursor cursor)
    {
        int entry = table.allocate();
        if (entry >= 0)
        {
            return entry;
        }
        final int capacity = table.capacity();
        for (int attempt = 0; attempt < EVICTION_ATTEMPTS; attempt++)
        {
            if (!earlyDrop.evict(cursor, (int)((nextRandom16() * (long)capacity) >>> 16)))
            {
                break; // nothing to evict in reach (or a lost race, which the kernel drops too)
            }
            counters.increment(ConntrackCounter.EARLY_DROP);
            entry = table.allocate();
            if (entry >= 0)
            {
                return entry;
            }
        }
        counters.increment(ConntrackCounter.DROP);
        return -1;
    }

    /** Reply tuple b-word: from the destination's port to the translated source port. */
    private static long replyPorts(final int protocol, final int replySrcPort, final int replyDstPort)
    {
        if (protocol == Ipv4Header.PROTO_ICMP)
        {
            return FlowTuple.packPorts(protocol, 0, replyDstPort);
        }
        return FlowTuple.packPorts(protocol, replySrcPort, replyDstPort);
    }

    private int nextRandom16()
    {
        long x = random;
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        random = x;
        return (int)(x >>> 48);
    }

    private int drop(final DropReason reason)
    {
        dropReason = reason.id();
        return -1;
    }
}
