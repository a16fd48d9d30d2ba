package natgw.core.conntrack;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import natgw.core.flow.FlowTuple;
import natgw.core.memory.StateFile;
import natgw.core.nat.EndpointDependence;
import natgw.core.nat.NatAllocator;
import natgw.core.nat.PortStrategy;

import static natgw.core.conntrack.ConntrackTable.ORIGINAL;
import static natgw.core.conntrack.ConntrackTable.REPLY;
import static natgw.core.flow.FlowTuple.parseAddress;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A table in a state file, its writer "crashed" at each step of reserve-then-confirm and of the other
 * multi-step operations (the Java objects abandoned, the file attached by a new table): the recovered
 * table holds exactly the connections that were published, with their mappings, and nothing else.
 */
class ConntrackRecoveryTest
{
    private static final int CAPACITY = 64;
    private static final long EPOCH_NS = 7_000_000_000L;
    private static final int CLIENT = parseAddress("10.0.0.2");
    private static final int SERVER = parseAddress("203.0.113.9");
    private static final int POOL = parseAddress("198.51.100.1");
    private static final int SURVIVORS = 3;
    private static final int CRASHED_PORT = 5000;
    private static final int DEADLINE_MS = 60_000;

    @TempDir
    Path dir;
    private StateFile file;
    private final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();

    /** Where the writer of a fourth connection stops; SURVIVORS connections were complete before it. */
    enum CrashPoint
    {
        /** allocate took the entry off the free list; its status still says FREE. */
        MID_ALLOCATE(false),
        AFTER_ALLOCATE(false),
        AFTER_INITIALISE(false),
        /** claim(REPLY) took its hold on the entry, the node is not linked yet. */
        MID_CLAIM_REPLY(false),
        AFTER_CLAIM_REPLY(false),
        AFTER_CONFIRM(false),
        /** abandon set DYING and marked the reply node, then died before unlinking it. */
        MID_ABANDON(false),
        AFTER_CLAIM_ORIGINAL(true);

        final boolean published;

        CrashPoint(final boolean published)
        {
            this.published = published;
        }
    }

    @AfterEach
    void close()
    {
        if (file != null)
        {
            file.close();
        }
    }

    @ParameterizedTest
    @EnumSource(CrashPoint.class)
    void shouldKeepOnlyPublishedConnectionsAfterACrashAt(final CrashPoint point)
    {
        final ConntrackTable before = attach();
        for (int i = 0; i < SURVIVORS; i++)
        {
            connect(before, 1000 + i, 20_000 + i);
        }
        crashDuringConnect(before, point);
        final int generationBefore = StatusDescriptor.generation(before.status(3));

        final ConntrackTable after = attach();
        final ConntrackTable.Recovery recovery = after.recover(EPOCH_NS + 1_000_000_000L);

        final int expected = SURVIVORS + (point.published ? 1 : 0);
        assertEquals(expected, recovery.kept(), recovery.toString());
        // an entry taken off the free list while its status still said FREE was in use by nobody: not "released"
        assertEquals(point.published || point == CrashPoint.MID_ALLOCATE ? 0 : 1, recovery.released(), recovery.toString());
        assertEquals(expected, after.countInUse());
        for (int i = 0; i < SURVIVORS; i++)
        {
            assertMapped(after, 1000 + i, 20_000 + i);
        }
        if (point.published)
        {
            assertMapped(after, CRASHED_PORT, 30_000);
        }
        else
        {
            assertFalse(after.lookup(cursor, origA(), origB(CRASHED_PORT)), "the unpublished original tuple is gone");
            assertFalse(after.lookup(cursor, replyA(), replyB(30_000)), "the unconfirmed reservation is released");
            if (point != CrashPoint.MID_ALLOCATE)
            {
                assertNotEquals(generationBefore, StatusDescriptor.generation(after.status(3)), "a released entry is a new incarnation");
            }
            connect(after, CRASHED_PORT, 30_000); // the flow can be made again, with the port it had reserved
        }
        assertFreeListHolds(after, CAPACITY - after.countInUse());
    }

    @Test
    void shouldEndAKillCutShortAndKeepTheOtherConnections()
    {
        final ConntrackTable before = attach();
        for (int i = 0; i < SURVIVORS; i++)
        {
            connect(before, 1000 + i, 20_000 + i);
        }
        final int victim = connect(before, CRASHED_PORT, 30_000);
        // kill: DYING, then the ORIGINAL node marked; it died before unlinking it and the REPLY node
        final UnsafeBuffer memory = file.region(1);
        final int status = before.status(victim);
        memory.putInt(before.entryOffset(victim) + ConntrackTable.STATUS_OFFSET,
            status & ~StatusDescriptor.PHASE_MASK | StatusDescriptor.PHASE_DYING);
        mark(memory, before, victim, ORIGINAL);
        memory.putInt(before.recordOffset(victim) + ConntrackTable.LINKS_OFFSET, 3); // two nodes and the killer's hold

        final ConntrackTable after = attach();
        final ConntrackTable.Recovery recovery = after.recover(EPOCH_NS + 1_000_000_000L);

        assertEquals(SURVIVORS, recovery.kept());
        assertEquals(1, recovery.released());
        assertFalse(after.lookup(cursor, replyA(), replyB(30_000)));
        for (int i = 0; i < SURVIVORS; i++)
        {
            assertMapped(after, 1000 + i, 20_000 + i);
        }
        assertFreeListHolds(after, CAPACITY - SURVIVORS);
    }

    @Test
    void shouldFoldCountsAndEndAFoldCutShort()
    {
        final ConntrackTable before = attach();
        final int entry = connect(before, 1000, 20_000);
        for (int i = 0; i < 10; i++)
        {
            before.account(entry, ORIGINAL, 100);
        }
        before.account(entry, REPLY, 10_000);
        final UnsafeBuffer memory = file.region(1);
        memory.putInt(before.recordOffset(entry) + ConntrackTable.FOLD_OFFSET, 1); // a fold in progress when it died

        final ConntrackTable after = attach();
        after.recover(EPOCH_NS + 1_000_000_000L);

        assertEquals(0, after.pendingPackets(entry, ORIGINAL));
        assertTimeoutPreemptively(Duration.ofSeconds(10), () ->
        {
            assertEquals(10, after.packets(entry, ORIGINAL), "a reader does not wait on the dead folder");
            assertEquals(1000, after.bytes(entry, ORIGINAL));
            assertEquals(1, after.packets(entry, REPLY));
            assertEquals(10_000, after.bytes(entry, REPLY));
        });
    }

    @Test
    void shouldExpireWhatTimedOutWhileNoProcessRan()
    {
        final ConntrackTable before = attach();
        connect(before, 1000, 20_000); // deadline 60 s after the epoch
        final int late = before.allocate();
        before.initialise(late, origA(), origB(1001), replyA(), replyB(20_001), 0, 0, 10 * DEADLINE_MS);
        assertTrue(before.claim(cursor, late, REPLY));
        before.confirm(late);
        assertTrue(before.claim(cursor, late, ORIGINAL));
        before.clockSeen(EPOCH_NS + 30_000_000_000L);

        final ConntrackTable after = attach();
        // 100 s after the last reading: past the first deadline, before the second
        final ConntrackTable.Recovery recovery = after.recover(EPOCH_NS + 130_000_000_000L);

        assertEquals(1, recovery.kept());
        assertEquals(1, recovery.expired());
        assertFalse(after.lookup(cursor, origA(), origB(1000)));
        assertMapped(after, 1001, 20_001);
    }

    @Test
    void shouldSetTheHighWaterMarkAboveTheLastSurvivor()
    {
        final ConntrackTable before = attach();
        final int[] entries = new int[6];
        for (int i = 0; i < entries.length; i++)
        {
            entries[i] = connect(before, 1000 + i, 20_000 + i);
        }
        assertEquals(6, before.highWater());
        for (final int gone : new int[] {entries[1], entries[4], entries[5]})
        {
            assertTrue(before.kill(cursor, gone, before.status(gone)));
        }
        file.region(0).putInt(org.agrona.BitUtil.CACHE_LINE_LENGTH + 8, 0); // as a state file from before the mark was kept

        final ConntrackTable after = attach();
        after.recover(EPOCH_NS + 1_000_000_000L);

        assertEquals(entries[3] + 1, after.highWater(), "one past the highest surviving entry");
        assertEquals(entries[1], connect(after, 2000, 21_000), "the entry freed below the mark first");
        assertEquals(entries[3] + 1, after.highWater());
        assertEquals(entries[3] + 1, connect(after, 2001, 21_001), "then the free ones above it, in order");
        assertEquals(entries[3] + 2, after.highWater());
    }

    @Test
    void shouldExpireEverythingAfterAGapLongerThanTheDeadlinesCanCount()
    {
        final ConntrackTable before = attach();
        connect(before, 1000, 20_000);
        before.clockSeen(EPOCH_NS);

        final ConntrackTable after = attach();
        // 50 days: the deadlines' milliseconds have wrapped, and would read as in the future
        final ConntrackTable.Recovery recovery = after.recover(EPOCH_NS + 50L * 86_400_000_000_000L);

        assertEquals(0, recovery.kept());
        assertEquals(1, recovery.expired());
    }

    @Test
    void shouldRebuildMappingUsesFromTheSurvivingConnections()
    {
        final ConntrackTable before = attach();
        final NatAllocator allocator = new NatAllocator(before, PortStrategy.RESERVE, new WorkerCounters(0), 0, true, 1,
            EndpointDependence.ENDPOINT_INDEPENDENT);
        for (int i = 0; i < 3; i++)
        {
            assertTrue(mappedConnect(allocator, CLIENT, 4000, SERVER + i, DEADLINE_MS) >= 0);
        }
        assertTrue(mappedConnect(allocator, CLIENT + 1, 4000, SERVER, 1_000) >= 0); // expires while no process runs
        final int stale = mappedConnect(allocator, CLIENT + 2, 4000, SERVER, DEADLINE_MS);
        final int mappingA = mapping(before, CLIENT, 4000);
        final int mappingC = mapping(before, CLIENT + 2, 4000);
        final UnsafeBuffer memory = file.region(1);
        // a taker died between its use and its connection; C's mapping was being unlinked (its node marked)
        memory.putInt(before.recordOffset(mappingA) + ConntrackTable.FIRST_DEADLINE_OFFSET, 7);
        mark(memory, before, mappingC, ORIGINAL);
        before.clockSeen(EPOCH_NS + 10_000_000_000L);

        final ConntrackTable after = attach();
        final ConntrackTable.Recovery recovery = after.recover(EPOCH_NS + 11_000_000_000L);

        assertEquals(3, recovery.kept(), recovery.toString());
        assertEquals(1, recovery.mappings(), recovery.toString());
        assertEquals(1, recovery.expired(), recovery.toString());
        assertEquals(3, recovery.released(), "B's mapping without a connection, C's connection and mapping: " + recovery);
        assertEquals(3, after.uses(mapping(after, CLIENT, 4000)), "the uses of the connections that survived");
        assertEquals(1, after.countMappings());
        assertFalse(after.lookup(cursor, FlowTuple.packAddresses(CLIENT + 2, SERVER), origB(4000)), "C's connection went with its mapping");
        assertNotEquals(StatusDescriptor.PHASE_CONFIRMED, StatusDescriptor.phase(after.status(stale)));
        assertEquals(3, after.countInUse());

        // the recovered uses end the mapping with its last connection
        final NatAllocator again = new NatAllocator(after, PortStrategy.RESERVE, new WorkerCounters(0), 0, true, 2,
            EndpointDependence.ENDPOINT_INDEPENDENT);
        for (int i = 0; i < 3; i++)
        {
            assertTrue(after.lookup(cursor, FlowTuple.packAddresses(CLIENT, SERVER + i), origB(4000)));
            assertTrue(after.kill(cursor, cursor.entry(), cursor.status()));
        }
        assertEquals(0, after.countInUse());
        assertEquals(0, after.countMappings());
        assertTrue(mappedConnect(again, CLIENT + 1, 4000, SERVER, DEADLINE_MS) >= 0);
        assertFreeListHolds(after, CAPACITY - 2);
    }

    @Test
    void shouldRebuildPermissionUsesAndDropAConnectionWhosePermissionWentMissing()
    {
        final ConntrackTable before = attach();
        before.permissions(true);
        final NatAllocator allocator = new NatAllocator(before, PortStrategy.RESERVE, new WorkerCounters(0), 0, true, 1,
            EndpointDependence.ENDPOINT_INDEPENDENT);
        assertTrue(mappedConnect(allocator, CLIENT, 4000, SERVER, DEADLINE_MS) >= 0);
        assertTrue(allocator.connect(cursor, FlowTuple.packAddresses(CLIENT, SERVER), FlowTuple.packPorts(6, 4000, 8443), POOL, SERVER,
            8443, 1024, 65535, StatusDescriptor.SRC_NAT, 0, DEADLINE_MS) >= 0);
        assertTrue(mappedConnect(allocator, CLIENT, 4000, SERVER + 1, DEADLINE_MS) >= 0);
        // the permission of SERVER + 1 was being unlinked when the process died
        assertTrue(before.lookup(cursor, MappingDescriptor.permissionAddresses(CLIENT, SERVER + 1), MappingDescriptor.permissionPorts(6, 4000)));
        mark(file.region(1), before, cursor.entry(), ORIGINAL);

        final ConntrackTable after = attach();
        after.permissions(true);
        final ConntrackTable.Recovery recovery = after.recover(EPOCH_NS + 1_000_000_000L);

        assertEquals(2, recovery.kept(), recovery.toString());
        assertEquals(1, recovery.mappings(), recovery.toString());
        final int mapping = mapping(after, CLIENT, 4000);
        assertEquals(1, after.uses(mapping), "one permission left");
        assertTrue(after.lookup(cursor, MappingDescriptor.permissionAddresses(CLIENT, SERVER), MappingDescriptor.permissionPorts(6, 4000)));
        assertEquals(2, after.uses(cursor.entry()), "two connections to SERVER");
        for (int entry = 0; entry < CAPACITY; entry++)
        {
            after.kill(cursor, entry, after.status(entry));
        }
        assertFreeListHolds(after, CAPACITY);
    }

    private int mappedConnect(final NatAllocator allocator, final int client, final int clientPort, final int server, final int deadlineMs)
    {
        return allocator.connect(cursor, FlowTuple.packAddresses(client, server), origB(clientPort), POOL, server, 443, 1024, 65535,
            StatusDescriptor.SRC_NAT, 0, deadlineMs);
    }

    private int mapping(final ConntrackTable table, final int client, final int clientPort)
    {
        assertTrue(table.lookup(cursor, MappingDescriptor.endpointAddresses(client),
            MappingDescriptor.endpointPorts(FlowTuple.protocol(origB(clientPort)), clientPort)));
        return cursor.entry();
    }

    @Test
    void shouldKeepATcpConnectionsSequenceEndAndAUdpConnectionsFirstDeadline()
    {
        final ConntrackTable before = attach();
        final int tcp = connect(before, 1000, 20_000);
        before.raiseSequenceEnd(cursor, tcp, before.status(tcp), 0x7EED_0001);
        final int udp = before.allocate();
        before.initialise(udp, origA(), FlowTuple.packPorts(17, 1000, 53), replyA(), FlowTuple.packPorts(17, 53, 20_000),
            StatusDescriptor.SRC_NAT, 0, DEADLINE_MS);
        assertTrue(before.claim(cursor, udp, REPLY));
        before.confirm(udp);
        assertTrue(before.claim(cursor, udp, ORIGINAL));

        final ConntrackTable after = attach();
        assertEquals(2, after.recover(EPOCH_NS + 1_000_000_000L).kept());

        assertTrue(after.lookup(cursor, origA(), origB(1000)));
        assertEquals(0x7EED_0001, after.sequenceEnd(cursor.entry()));
        assertTrue(after.lookup(cursor, origA(), FlowTuple.packPorts(17, 1000, 53)));
        assertEquals(DEADLINE_MS, after.firstDeadlineMs(cursor.entry()));
    }

    @Test
    void shouldKeepTheBucketHashOfTheFirstTable()
    {
        final ConntrackTable before = attach();
        connect(before, 1000, 20_000);
        final long seed = before.seed();

        final ConntrackTable after = attach();

        assertEquals(seed, after.seed());
        assertEquals(EPOCH_NS, after.epochNs());
    }

    /** "Crashes" the previous writer (its objects are dropped, its lock released) and attaches a new table. */
    private ConntrackTable attach()
    {
        final boolean existed = file != null;
        if (existed)
        {
            file.close();
        }
        file = StateFile.open(dir.resolve("natgw0.state"),
            new long[] {ConntrackTable.CONTROL_LENGTH, ConntrackTable.memoryBytes(CAPACITY)},
            Map.of("conntrack-max", String.valueOf(CAPACITY)), false, EPOCH_NS, 0x5EEDL);
        assertEquals(existed ? StateFile.Origin.ATTACHED : StateFile.Origin.CREATED, file.origin());
        final ConntrackTable table = new ConntrackTable(CAPACITY, file.epochNs(), file.seed(), file.region(1), file.region(0), existed);
        file.ready();
        return table;
    }

    private void crashDuringConnect(final ConntrackTable table, final CrashPoint point)
    {
        final UnsafeBuffer memory = file.region(1);
        final int entry = table.allocate();
        assertEquals(SURVIVORS, entry);
        if (point == CrashPoint.MID_ALLOCATE)
        {
            memory.putInt(table.entryOffset(entry) + ConntrackTable.STATUS_OFFSET, 0);
            memory.putInt(table.recordOffset(entry) + ConntrackTable.LINKS_OFFSET, 0);
            return;
        }
        if (point == CrashPoint.AFTER_ALLOCATE)
        {
            return;
        }
        table.initialise(entry, origA(), origB(CRASHED_PORT), replyA(), replyB(30_000), StatusDescriptor.SRC_NAT, 0, DEADLINE_MS);
        if (point == CrashPoint.AFTER_INITIALISE)
        {
            return;
        }
        if (point == CrashPoint.MID_CLAIM_REPLY)
        {
            memory.putInt(table.recordOffset(entry) + ConntrackTable.LINKS_OFFSET, 2);
            return;
        }
        assertTrue(table.claim(cursor, entry, REPLY));
        if (point == CrashPoint.AFTER_CLAIM_REPLY)
        {
            return;
        }
        if (point == CrashPoint.MID_ABANDON)
        {
            final int status = table.status(entry);
            memory.putInt(table.entryOffset(entry) + ConntrackTable.STATUS_OFFSET,
                status & ~StatusDescriptor.PHASE_MASK | StatusDescriptor.PHASE_DYING);
            mark(memory, table, entry, REPLY);
            return;
        }
        table.confirm(entry);
        if (point == CrashPoint.AFTER_CONFIRM)
        {
            return;
        }
        assertTrue(table.claim(cursor, entry, ORIGINAL));
    }

    /** Marks node {@code dir} of {@code entry} logically deleted, as deleteNode's first CAS does. */
    private static void mark(final UnsafeBuffer memory, final ConntrackTable table, final int entry, final int dir)
    {
        final int link = table.entryOffset(entry) + ConntrackTable.NEXT_OFFSET + dir * 8;
        memory.putLong(link, memory.getLong(link) | Long.MIN_VALUE);
    }

    private int connect(final ConntrackTable table, final int clientPort, final int natPort)
    {
        final int entry = table.allocate();
        table.initialise(entry, origA(), origB(clientPort), replyA(), replyB(natPort), StatusDescriptor.SRC_NAT, 0, DEADLINE_MS);
        assertTrue(table.claim(cursor, entry, REPLY));
        table.confirm(entry);
        assertTrue(table.claim(cursor, entry, ORIGINAL));
        return entry;
    }

    /** Both tuples find the same confirmed entry, whose reply tuple is the mapping it had. */
    private void assertMapped(final ConntrackTable table, final int clientPort, final int natPort)
    {
        assertTrue(table.lookup(cursor, origA(), origB(clientPort)), "original tuple of client port " + clientPort);
        final int entry = cursor.entry();
        assertEquals(StatusDescriptor.PHASE_CONFIRMED, StatusDescriptor.phase(cursor.status()));
        assertEquals(replyB(natPort), table.tuplePorts(entry, REPLY));
        assertTrue(table.lookup(cursor, replyA(), replyB(natPort)), "reply tuple of NAT port " + natPort);
        assertEquals(entry, cursor.entry());
        assertEquals(REPLY, cursor.dir());
    }

    /** Exactly {@code free} entries can be allocated, each once. */
    private static void assertFreeListHolds(final ConntrackTable table, final int free)
    {
        final boolean[] seen = new boolean[CAPACITY];
        for (int i = 0; i < free; i++)
        {
            final int entry = table.allocate();
            assertTrue(entry >= 0, "free entry " + i + " of " + free);
            assertFalse(seen[entry], "entry " + entry + " twice on the free list");
            seen[entry] = true;
        }
        assertEquals(-1, table.allocate(), "no entry in use is on the free list");
    }

    private static long origA()
    {
        return FlowTuple.packAddresses(CLIENT, SERVER);
    }

    private static long origB(final int clientPort)
    {
        return FlowTuple.packPorts(6, clientPort, 443);
    }

    private static long replyA()
    {
        return FlowTuple.packAddresses(SERVER, POOL);
    }

    private static long replyB(final int natPort)
    {
        return FlowTuple.packPorts(6, 443, natPort);
    }
}
