package natgw.core.conntrack;

import org.junit.jupiter.api.Test;

import natgw.core.flow.FlowTuple;
import natgw.core.nat.BackendCounters;

import static natgw.core.conntrack.ConntrackTable.ORIGINAL;
import static natgw.core.conntrack.ConntrackTable.REPLY;
import static natgw.core.flow.FlowTuple.parseAddress;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Single-threaded behaviour; the concurrent protocol is proved by the JCStress tests. */
class ConntrackTableTest
{
    private static final int CLIENT = parseAddress("10.0.0.2");
    private static final int SERVER = parseAddress("203.0.113.9");
    private static final int POOL = parseAddress("198.51.100.1");

    private final ConntrackTable table = new ConntrackTable(64, 5_000_000_000L);
    private final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();

    private static long origAddresses()
    {
        return FlowTuple.packAddresses(CLIENT, SERVER);
    }

    private static long origPorts(final int clientPort)
    {
        return FlowTuple.packPorts(6, clientPort, 443);
    }

    private static long replyAddresses()
    {
        return FlowTuple.packAddresses(SERVER, POOL);
    }

    private static long replyPorts(final int natPort)
    {
        return FlowTuple.packPorts(6, 443, natPort);
    }

    /** allocate, initialise, claim the reply, confirm, claim the original: a whole connection. */
    private int connect(final int clientPort, final int natPort, final int flags)
    {
        final int entry = table.allocate();
        table.initialise(entry, origAddresses(), origPorts(clientPort), replyAddresses(), replyPorts(natPort), flags, 77, 1234);
        assertTrue(table.claim(cursor, entry, REPLY));
        table.confirm(entry);
        assertTrue(table.claim(cursor, entry, ORIGINAL));
        return entry;
    }

    @Test
    void shouldWalkAheadToTheNodeALookupFinds()
    {
        for (int i = 0; i < 64; i++)
        {
            connect(10_000 + i, 20_000 + i, 0); // 128 nodes in 128 buckets: some chains are long
        }
        int chained = 0;
        for (int i = 0; i < 64; i++)
        {
            for (int dir = ORIGINAL; dir <= REPLY; dir++)
            {
                final long addresses = dir == ORIGINAL ? origAddresses() : replyAddresses();
                final long ports = dir == ORIGINAL ? origPorts(10_000 + i) : replyPorts(20_000 + i);
                int ref = table.prefetch(table.bucket(addresses, ports));
                int steps = 0;
                for (int next; (next = table.prefetchStep(ref, addresses, ports)) > 0; ref = next)
                {
                    table.touch(next);
                    steps++;
                }
                chained += steps > 0 ? 1 : 0;
                assertTrue(table.lookup(cursor, addresses, ports));
                assertEquals(cursor.entry() * 2 + cursor.dir() + 1, ref, "the walk ends on the node the lookup finds");
            }
        }
        assertTrue(chained > 0, "some tuples sit behind another node of their chain");

        final long absentB = origPorts(9);
        int ref = table.prefetch(table.bucket(origAddresses(), absentB));
        for (int next; (next = table.prefetchStep(ref, origAddresses(), absentB)) > 0; ref = next)
        {
            table.touch(next);
        }
        assertTrue(ref == 0 || table.tuplePorts((ref - 1) >>> 1, (ref - 1) & 1) != absentB, "an absent tuple's walk ends at its chain's end");
    }

    @Test
    void shouldGiveEveryEntryItsOwnCacheLine()
    {
        for (int entry = 0; entry < table.capacity(); entry++)
        {
            assertEquals(0, table.entryAddress(entry) % 64, "entry " + entry + " starts addresses cache line");
            assertEquals(64, table.entryAddress(entry + 1) - table.entryAddress(entry), "and fills it");
        }
    }

    @Test
    void shouldKeepADnatConnectionsClosingTimestampBesideItsBackendInSteps()
    {
        final int entry = connect(5000, 6000, StatusDescriptor.SRC_NAT | StatusDescriptor.DST_NAT); // backend 76
        final int status = table.status(entry);
        table.raiseSequenceEnd(cursor, entry, status, table.sequenceEnd(entry), 5);
        assertEquals(1 << 13, table.closingTimestamp(entry, status), "below the first step: kept as that step, never as none");
        assertEquals(76, table.backend(entry));
        table.raiseSequenceEnd(cursor, entry, status, table.sequenceEnd(entry), 0x1234_5678);
        assertEquals(0x1234_4000, table.closingTimestamp(entry, status));
        assertEquals(76, table.backend(entry), "the backend stays");
        table.raiseSequenceEnd(cursor, entry, status, table.sequenceEnd(entry), 0x1000_0000);
        assertEquals(0x1234_4000, table.closingTimestamp(entry, status), "never back");
    }

    @Test
    void shouldKeepTheHighestBackendIdBesideAClosingTimestamp()
    {
        final int entry = table.allocate();
        table.initialise(entry, origAddresses(), origPorts(5000), replyAddresses(), replyPorts(6000),
            StatusDescriptor.SRC_NAT | StatusDescriptor.DST_NAT, BackendCounters.MAX_BACKENDS, 1234); // the last id + 1
        assertTrue(table.claim(cursor, entry, REPLY));
        table.confirm(entry);
        assertTrue(table.claim(cursor, entry, ORIGINAL));
        final int status = table.status(entry);
        table.raiseSequenceEnd(cursor, entry, status, table.sequenceEnd(entry), 0xFFFF_FFFF);
        assertEquals(BackendCounters.MAX_BACKENDS - 1, table.backend(entry));
        assertEquals(0xFFFF_E000, table.closingTimestamp(entry, status));
    }

    @Test
    void shouldKeepASourceNatConnectionsWholeClosingTimestamp()
    {
        final int entry = table.allocate();
        table.initialise(entry, origAddresses(), origPorts(5000), replyAddresses(), replyPorts(6000), StatusDescriptor.SRC_NAT, 0, 1234);
        assertTrue(table.claim(cursor, entry, REPLY));
        table.confirm(entry);
        assertTrue(table.claim(cursor, entry, ORIGINAL));
        final int status = table.status(entry);
        table.raiseSequenceEnd(cursor, entry, status, table.sequenceEnd(entry), 5);
        assertEquals(5, table.closingTimestamp(entry, status));
        table.raiseSequenceEnd(cursor, entry, status, table.sequenceEnd(entry), 0x8000_0004);
        assertEquals(0x8000_0004, table.closingTimestamp(entry, status), "half the space ahead, modulo 2^32");
    }

    @Test
    void shouldAllocateReservedEntryWithClearedFields()
    {
        final int entry = table.allocate();
        assertTrue(entry >= 0);
        assertEquals(StatusDescriptor.PHASE_RESERVED, StatusDescriptor.phase(table.status(entry)));
        assertEquals(0, table.extra(entry));
        assertEquals(0, table.packets(entry, ORIGINAL));
        assertEquals(1, table.countInUse());
    }

    @Test
    void shouldInitialiseTuplesFlagsExtraAndDeadline()
    {
        final int entry = table.allocate();
        table.initialise(entry, origAddresses(), origPorts(5000), replyAddresses(), replyPorts(6000),
            StatusDescriptor.SRC_NAT | TcpState.SYN_SENT << StatusDescriptor.TCP_STATE_SHIFT, 42, 777);
        assertEquals(origAddresses(), table.tupleAddresses(entry, ORIGINAL));
        assertEquals(origPorts(5000), table.tuplePorts(entry, ORIGINAL));
        assertEquals(replyAddresses(), table.tupleAddresses(entry, REPLY));
        assertEquals(replyPorts(6000), table.tuplePorts(entry, REPLY));
        assertEquals(42, table.extra(entry));
        assertEquals(777, table.deadlineMs(entry));
        final int status = table.status(entry);
        assertEquals(StatusDescriptor.PHASE_RESERVED, StatusDescriptor.phase(status), "flags keep the phase");
        assertEquals(TcpState.SYN_SENT, StatusDescriptor.tcpState(status));
        assertTrue((status & StatusDescriptor.SRC_NAT) != 0);
    }

    @Test
    void shouldFindConfirmedConnectionFromBothDirections()
    {
        final int entry = connect(5000, 6000, StatusDescriptor.SRC_NAT);
        assertEquals(StatusDescriptor.PHASE_CONFIRMED, StatusDescriptor.phase(table.status(entry)));

        assertTrue(table.lookup(cursor, origAddresses(), origPorts(5000)));
        assertEquals(entry, cursor.entry());
        assertEquals(ORIGINAL, cursor.dir());
        assertEquals(table.status(entry), cursor.status());
        assertTrue(table.stillValid(cursor));

        assertTrue(table.lookup(cursor, replyAddresses(), replyPorts(6000)));
        assertEquals(entry, cursor.entry());
        assertEquals(REPLY, cursor.dir());

        assertFalse(table.lookup(cursor, origAddresses(), origPorts(5001)));
        assertEquals(-1, cursor.entry());
        assertFalse(table.lookup(cursor, FlowTuple.invertAddresses(origAddresses()), FlowTuple.invertPorts(origPorts(5000))),
            "the un-NATed inverse is not the reply tuple");
    }

    @Test
    void shouldFindLinkedNodesAsLookupFindsThem()
    {
        for (int i = 0; i < 64; i++)
        {
            connect(10_000 + i, 20_000 + i, StatusDescriptor.SRC_NAT); // 128 nodes in 128 buckets: chains of several
        }
        for (int i = 0; i < 64; i++)
        {
            for (int dir = ORIGINAL; dir <= REPLY; dir++)
            {
                final long addresses = dir == ORIGINAL ? origAddresses() : replyAddresses();
                final long ports = dir == ORIGINAL ? origPorts(10_000 + i) : replyPorts(20_000 + i);
                final long found = table.findLinked(addresses, ports, table.bucket(addresses, ports));
                assertTrue(table.lookup(cursor, addresses, ports));
                assertNotEquals(ConntrackTable.NOT_FOUND, found);
                assertEquals(cursor.entry(), ConntrackTable.foundEntry(found));
                assertEquals(cursor.dir(), ConntrackTable.foundDir(found));
                assertEquals(cursor.status(), ConntrackTable.foundStatus(found));
                assertTrue(table.sameIncarnation(ConntrackTable.foundEntry(found), ConntrackTable.foundStatus(found)));
            }
        }
        final long unknownPorts = origPorts(9_999);
        assertEquals(ConntrackTable.NOT_FOUND, table.findLinked(origAddresses(), unknownPorts, table.bucket(origAddresses(), unknownPorts)));
    }

    @Test
    void shouldNotFindTheOriginalTupleOfAConfirmedEntryBeforeItsClaim()
    {
        final int entry = table.allocate();
        table.initialise(entry, origAddresses(), origPorts(5000), replyAddresses(), replyPorts(6000), 0, 0, 0);
        assertTrue(table.claim(cursor, entry, REPLY));
        table.confirm(entry);
        assertEquals(ConntrackTable.NOT_FOUND, table.findLinked(origAddresses(), origPorts(5000), table.bucket(origAddresses(), origPorts(5000))),
            "the original node is written but not linked: its claim may still fail");
        final long reply = table.findLinked(replyAddresses(), replyPorts(6000), table.bucket(replyAddresses(), replyPorts(6000)));
        assertEquals(entry, ConntrackTable.foundEntry(reply));
        assertEquals(REPLY, ConntrackTable.foundDir(reply));
        assertEquals(StatusDescriptor.PHASE_CONFIRMED, StatusDescriptor.phase(ConntrackTable.foundStatus(reply)));
    }

    @Test
    void shouldTellAFoundEntryReusedSinceFromTheIncarnationFound()
    {
        final int entry = connect(5000, 6000, 0);
        final long found = table.findLinked(origAddresses(), origPorts(5000), table.bucket(origAddresses(), origPorts(5000)));
        assertTrue(table.sameIncarnation(entry, ConntrackTable.foundStatus(found)));
        assertTrue(table.kill(cursor, entry, ConntrackTable.foundStatus(found)));
        assertFalse(table.sameIncarnation(entry, ConntrackTable.foundStatus(found)), "the generation changed under the reader");
        assertEquals(ConntrackTable.NOT_FOUND, table.findLinked(origAddresses(), origPorts(5000), table.bucket(origAddresses(), origPorts(5000))));
    }

    @Test
    void shouldFindReservedEntryOnceItsReplyIsClaimed()
    {
        final int entry = table.allocate();
        table.initialise(entry, origAddresses(), origPorts(5000), replyAddresses(), replyPorts(6000), 0, 0, 0);
        assertFalse(table.lookup(cursor, replyAddresses(), replyPorts(6000)), "nothing is linked before the claim");
        assertTrue(table.claim(cursor, entry, REPLY));
        assertTrue(table.lookup(cursor, replyAddresses(), replyPorts(6000)));
        assertEquals(StatusDescriptor.PHASE_RESERVED, StatusDescriptor.phase(cursor.status()), "callers see the phase");
        assertFalse(table.lookup(cursor, origAddresses(), origPorts(5000)));
    }

    @Test
    void shouldRefuseSecondClaimOfHeldTuple()
    {
        final int first = connect(5000, 6000, 0);
        final int second = table.allocate();
        table.initialise(second, FlowTuple.packAddresses(CLIENT + 1, SERVER), origPorts(5000), replyAddresses(), replyPorts(6000), 0, 0, 0);
        assertFalse(table.claim(cursor, second, REPLY), "NAT tuple 198.51.100.1:6000 is held");
        table.replyTuple(second, replyAddresses(), replyPorts(6001));
        assertTrue(table.claim(cursor, second, REPLY), "the next candidate is free");
        table.confirm(second);
        assertTrue(table.claim(cursor, second, ORIGINAL));

        final int third = table.allocate();
        table.initialise(third, origAddresses(), origPorts(5000), replyAddresses(), replyPorts(6002), 0, 0, 0);
        assertTrue(table.claim(cursor, third, REPLY));
        assertFalse(table.claim(cursor, third, ORIGINAL), "the original tuple is held by the first connection");
        table.abandon(cursor, third);

        assertTrue(table.lookup(cursor, replyAddresses(), replyPorts(6000)));
        assertEquals(first, cursor.entry());
        assertTrue(table.lookup(cursor, replyAddresses(), replyPorts(6001)));
        assertEquals(second, cursor.entry());
        assertFalse(table.lookup(cursor, replyAddresses(), replyPorts(6002)), "the abandoned reservation is gone");
        assertEquals(2, table.countInUse());
    }

    @Test
    void shouldFreeKilledEntryAndMissAfterwards()
    {
        final int entry = connect(5000, 6000, 0);
        assertEquals(1, table.countInUse());
        assertTrue(table.lookup(cursor, origAddresses(), origPorts(5000)));
        final int status = cursor.status();

        assertTrue(table.kill(cursor, entry, status));
        assertEquals(0, table.countInUse());
        assertEquals(StatusDescriptor.PHASE_FREE, StatusDescriptor.phase(table.status(entry)));
        assertNotEquals(StatusDescriptor.generation(status), StatusDescriptor.generation(table.status(entry)), "a new generation");
        assertFalse(table.lookup(cursor, origAddresses(), origPorts(5000)));
        assertFalse(table.lookup(cursor, replyAddresses(), replyPorts(6000)));

        assertFalse(table.kill(cursor, entry, status), "one killer only");
    }

    @Test
    void shouldRefuseKillWithStaleStatus()
    {
        final int entry = connect(5000, 6000, 0);
        final int stale = table.status(entry);
        assertTrue(table.compareAndSetStatus(entry, stale, stale | StatusDescriptor.SEEN_REPLY));
        assertFalse(table.kill(cursor, entry, stale));
        assertEquals(1, table.countInUse());
        assertTrue(table.lookup(cursor, origAddresses(), origPorts(5000)));
        assertFalse(table.kill(cursor, entry, StatusDescriptor.PHASE_RESERVED), "only addresses CONFIRMED status can be killed");
    }

    /** {@link #connect} for a TCP connection whose original direction starts at {@code sequence}. */
    private int connectFrom(final int clientPort, final int natPort, final int sequence)
    {
        final int entry = connect(clientPort, natPort, 0);
        table.sequenceEnd(entry, sequence);
        return entry;
    }

    @Test
    void shouldRaiseTheSequenceEndOnlyForward()
    {
        final int entry = connectFrom(5000, 6000, 1000);
        assertEquals(1000, table.sequenceEnd(entry));
        table.raiseSequenceEnd(cursor, entry, table.status(entry), 1001);
        assertEquals(1001, table.sequenceEnd(entry));
        table.raiseSequenceEnd(cursor, entry, table.status(entry), 1000);
        assertEquals(1001, table.sequenceEnd(entry), "a retransmission does not move it back");
        table.raiseSequenceEnd(cursor, entry, table.status(entry), 1001);
        assertEquals(1001, table.sequenceEnd(entry));
        table.raiseSequenceEnd(cursor, entry, table.status(entry), 91_001);
        assertEquals(91_001, table.sequenceEnd(entry));
        assertEquals(1, table.countInUse(), "the raise's hold is released");
        assertTrue(table.kill(cursor, entry, table.status(entry)));
        assertEquals(0, table.countInUse());
    }

    @Test
    void shouldRaiseTheSequenceEndAcrossTheWrap()
    {
        final int entry = connectFrom(5000, 6000, 0xFFFF_FFF0);
        table.raiseSequenceEnd(cursor, entry, table.status(entry), 0x10);
        assertEquals(0x10, table.sequenceEnd(entry), "0x10 follows 0xfffffff0");
        table.raiseSequenceEnd(cursor, entry, table.status(entry), 0xFFFF_FFFF);
        assertEquals(0x10, table.sequenceEnd(entry), "a segment from before the wrap does not move it back");
    }

    @Test
    void shouldNotRaiseTheSequenceEndOfAnEntryFreedOrReusedSince()
    {
        final int entry = connectFrom(5000, 6000, 1000);
        final int stale = table.status(entry);
        assertTrue(table.kill(cursor, entry, stale));

        table.raiseSequenceEnd(cursor, entry, stale, 2000);
        assertEquals(StatusDescriptor.PHASE_FREE, StatusDescriptor.phase(table.status(entry)), "no hold is taken on a free entry");

        // reused as an endpoint mapping, whose uses share the word with a connection's sequence end
        final int mapping = table.allocate();
        assertEquals(entry, mapping);
        table.initialise(mapping, MappingDescriptor.endpointAddresses(CLIENT), MappingDescriptor.endpointPorts(6, 5000),
            MappingDescriptor.externalAddresses(POOL), MappingDescriptor.externalPorts(6, 5000), StatusDescriptor.MAPPED, 0, 1234);
        table.startUses(mapping);
        assertTrue(table.claim(cursor, mapping, REPLY));
        table.confirm(mapping);
        assertTrue(table.claim(cursor, mapping, ORIGINAL));

        table.raiseSequenceEnd(cursor, entry, stale, 2000);
        assertEquals(1, table.uses(mapping), "a stale raise never lands in another incarnation");
        assertEquals(StatusDescriptor.PHASE_CONFIRMED, StatusDescriptor.phase(table.status(mapping)));
    }

    @Test
    void shouldInvalidateCursorWhenEntryIsReused()
    {
        final int entry = connect(5000, 6000, 0);
        assertTrue(table.lookup(cursor, origAddresses(), origPorts(5000)));
        final ConntrackTable.Cursor reader = new ConntrackTable.Cursor();
        assertTrue(table.lookup(reader, origAddresses(), origPorts(5000)));
        assertTrue(table.kill(cursor, entry, cursor.status()));
        assertFalse(table.stillValid(reader), "the generation changed under the reader");
    }

    @Test
    void shouldReleaseAbandonedEntryWhetherOrNotItClaimed()
    {
        final int unclaimed = table.allocate();
        table.initialise(unclaimed, origAddresses(), origPorts(5000), replyAddresses(), replyPorts(6000), 0, 0, 0);
        table.abandon(cursor, unclaimed);
        assertEquals(0, table.countInUse());

        final int half = table.allocate();
        table.initialise(half, origAddresses(), origPorts(5000), replyAddresses(), replyPorts(6000), 0, 0, 0);
        assertTrue(table.claim(cursor, half, REPLY));
        table.abandon(cursor, half);
        assertEquals(0, table.countInUse());
        assertFalse(table.lookup(cursor, replyAddresses(), replyPorts(6000)));

        connect(5000, 6000, 0);
        assertEquals(1, table.countInUse(), "the tuples are free for addresses new connection");
    }

    @Test
    void shouldReturnMinusOneWhenFullAndReuseFreedEntries()
    {
        final ConntrackTable small = new ConntrackTable(3, 0);
        final int addresses = small.allocate();
        final int ports = small.allocate();
        final int c = small.allocate();
        assertEquals(3, java.util.stream.IntStream.of(addresses, ports, c).distinct().count());
        assertEquals(-1, small.allocate());
        assertEquals(3, small.countInUse());
        small.abandon(cursor, ports);
        assertEquals(ports, small.allocate());
        assertEquals(-1, small.allocate());
    }

    @Test
    void shouldKeepTheHighWaterMarkAtTheMostEntriesHeldAtOnce()
    {
        assertEquals(0, table.highWater());
        final int first = connect(1000, 20_000, 0);
        final int second = connect(1001, 20_001, 0);
        assertEquals(2, table.highWater());
        assertEquals(Math.max(first, second) + 1, table.highWater());
        assertTrue(table.kill(cursor, second, table.status(second)));
        assertTrue(table.kill(cursor, first, table.status(first)));
        for (int i = 0; i < 10; i++)
        {
            final int entry = connect(2000 + i, 30_000 + i, 0);
            assertTrue(entry < 2, "the entries freed last are handed out first: " + entry);
            assertTrue(table.kill(cursor, entry, table.status(entry)));
        }
        assertEquals(2, table.highWater(), "churn below the mark does not raise it");
        connect(3000, 40_000, 0);
        connect(3001, 40_001, 0);
        final int third = connect(3002, 40_002, 0);
        assertEquals(3, table.highWater());

        assertTrue(table.kill(cursor, third, table.status(third)));
        table.recomputeHighWater();
        assertEquals(2, table.highWater(), "one past the highest entry in use");
    }

    @Test
    void shouldHoldCapacityConnectionsWithEveryTupleFindable()
    {
        final ConntrackTable full = new ConntrackTable(5000, 0);
        for (int i = 0; i < 5000; i++)
        {
            final int entry = full.allocate();
            full.initialise(entry, FlowTuple.packAddresses(CLIENT + i, SERVER), origPorts(40000), replyAddresses(), replyPorts(1024 + i), 0, i, 0);
            assertTrue(full.claim(cursor, entry, REPLY));
            full.confirm(entry);
            assertTrue(full.claim(cursor, entry, ORIGINAL));
        }
        assertEquals(-1, full.allocate());
        for (int i = 0; i < 5000; i++)
        {
            assertTrue(full.lookup(cursor, FlowTuple.packAddresses(CLIENT + i, SERVER), origPorts(40000)));
            assertEquals(i, full.extra(cursor.entry()));
            assertTrue(full.lookup(cursor, replyAddresses(), replyPorts(1024 + i)));
            assertEquals(i, full.extra(cursor.entry()));
        }
        for (int i = 0; i < 5000; i += 2)
        {
            assertTrue(full.lookup(cursor, replyAddresses(), replyPorts(1024 + i)));
            assertTrue(full.kill(cursor, cursor.entry(), cursor.status()));
        }
        assertEquals(2500, full.countInUse());
        for (int i = 0; i < 5000; i++)
        {
            assertEquals(i % 2 == 1, full.lookup(cursor, FlowTuple.packAddresses(CLIENT + i, SERVER), origPorts(40000)), "flow " + i);
        }
    }

    @Test
    void shouldAccountPacketsAndBytesPerDirection()
    {
        final int entry = connect(5000, 6000, 0);
        table.account(entry, ORIGINAL, 60);
        table.account(entry, ORIGINAL, 40);
        table.account(entry, REPLY, 1500);
        assertEquals(2, table.packets(entry, ORIGINAL));
        assertEquals(100, table.bytes(entry, ORIGINAL));
        assertEquals(1, table.packets(entry, REPLY));
        assertEquals(1500, table.bytes(entry, REPLY));
    }

    @Test
    void shouldFoldPendingCountsIntoTotalsWithoutLosingAPacket()
    {
        final int entry = connect(5000, 6000, 0);
        long packets = 0;
        long bytes = 0;
        for (int i = 0; i < 100_000; i++)
        {
            final int length = 20 + (i * 7919) % 1481; // 20..1500
            table.account(entry, ORIGINAL, length);
            packets++;
            bytes += length;
            if (i % 9973 == 0)
            {
                assertEquals(packets, table.packets(entry, ORIGINAL), "after " + packets + " packets");
                assertEquals(bytes, table.bytes(entry, ORIGINAL), "after " + packets + " packets");
            }
        }
        assertEquals(packets, table.packets(entry, ORIGINAL));
        assertEquals(bytes, table.bytes(entry, ORIGINAL));
        assertEquals(0, table.packets(entry, REPLY));
        assertTrue(table.pendingPackets(entry, ORIGINAL) < ConntrackTable.FOLD_PACKETS, "folded as it went");
    }

    @Test
    void shouldFoldOnTheAddThatReachesTheMark()
    {
        final int entry = connect(5000, 6000, 0);
        final int largest = ConntrackTable.PENDING_MAX_BYTES - 1;
        for (int i = 1; i < ConntrackTable.FOLD_PACKETS; i++)
        {
            table.account(entry, REPLY, largest);
        }
        assertEquals(ConntrackTable.FOLD_PACKETS - 1, table.pendingPackets(entry, REPLY));
        assertEquals((ConntrackTable.FOLD_PACKETS - 1) * (long)largest, table.bytes(entry, REPLY));
        table.account(entry, REPLY, largest);
        assertEquals(0, table.pendingPackets(entry, REPLY));
        assertEquals(ConntrackTable.FOLD_PACKETS, table.packets(entry, REPLY));
        assertEquals(ConntrackTable.FOLD_PACKETS * (long)largest, table.bytes(entry, REPLY));
    }

    @Test
    void shouldCountLargePacketsStraightIntoTheTotals()
    {
        final int entry = connect(5000, 6000, 0);
        table.account(entry, ORIGINAL, 65_535);
        table.account(entry, ORIGINAL, ConntrackTable.PENDING_MAX_BYTES);
        table.account(entry, ORIGINAL, ConntrackTable.PENDING_MAX_BYTES - 1);
        assertEquals(1, table.pendingPackets(entry, ORIGINAL));
        assertEquals(3, table.packets(entry, ORIGINAL));
        assertEquals(65_535L + 2 * ConntrackTable.PENDING_MAX_BYTES - 1, table.bytes(entry, ORIGINAL));
    }

    @Test
    void shouldStartAReusedEntryWithZeroCounts()
    {
        final ConntrackTable one = new ConntrackTable(1, 0);
        final int entry = one.allocate();
        one.initialise(entry, origAddresses(), origPorts(5000), replyAddresses(), replyPorts(6000), 0, 0, 1234);
        assertTrue(one.claim(cursor, entry, REPLY));
        one.confirm(entry);
        assertTrue(one.claim(cursor, entry, ORIGINAL));
        for (int i = 0; i < 700; i++)
        {
            one.account(entry, i % 2, 1000 + i % 5000);
        }
        assertTrue(one.kill(cursor, entry, one.status(entry)));
        final int reused = one.allocate();
        assertEquals(entry, reused);
        assertEquals(0, one.packets(reused, ORIGINAL));
        assertEquals(0, one.bytes(reused, ORIGINAL));
        assertEquals(0, one.packets(reused, REPLY));
        assertEquals(0, one.bytes(reused, REPLY));
        one.account(reused, REPLY, 52);
        assertEquals(1, one.packets(reused, REPLY));
        assertEquals(52, one.bytes(reused, REPLY));
    }

    @Test
    void shouldKeepDeadlinesInMillisecondsSinceEpoch()
    {
        assertEquals(0, table.toTableMs(5_000_000_000L));
        assertEquals(1500, table.toTableMs(6_500_000_000L));
        final int entry = connect(5000, 6000, 0);
        table.deadlineMs(entry, 99_000);
        assertEquals(99_000, table.deadlineMs(entry));
    }

    @Test
    void shouldPackTcpStateInStatus()
    {
        final int status = StatusDescriptor.PHASE_CONFIRMED | StatusDescriptor.ASSURED | 5 * StatusDescriptor.GENERATION_UNIT;
        for (int state = 0; state <= TcpState.SYN_SENT2; state++)
        {
            final int updated = StatusDescriptor.withTcpState(status, state);
            assertEquals(state, StatusDescriptor.tcpState(updated));
            assertEquals(StatusDescriptor.PHASE_CONFIRMED, StatusDescriptor.phase(updated));
            assertEquals(5, StatusDescriptor.generation(updated));
            assertTrue((updated & StatusDescriptor.ASSURED) != 0);
        }
    }

    @Test
    void shouldFitOneMillionConnectionsIn128MiB()
    {
        final ConntrackTable big = new ConntrackTable(1_000_000, 0);
        assertEquals(2_750_000, big.bucketCount()); // 1.375 buckets a node: 2.75 a connection
        assertEquals(2_750_000L * 8 + 1_000_000L * (64 + 48), big.memoryBytes());
        assertTrue(big.memoryBytes() <= 128L * 1024 * 1024, big.memoryBytes() + " bytes");
    }

    @Test
    void shouldKeepTheLargestTableUnderTwoGiB()
    {
        final long bytes = ConntrackTable.memoryBytes(ConntrackTable.MAX_CAPACITY);
        assertTrue(bytes + 64 <= Integer.MAX_VALUE, bytes + " bytes and addresses cache line of alignment");
        assertTrue(ConntrackTable.bucketCount(ConntrackTable.MAX_CAPACITY) > 2 * ConntrackTable.MAX_CAPACITY * 0.99,
            "still about addresses bucket per node at the largest capacity");
        assertEquals(8, ConntrackTable.bucketCount(1));
    }

    @Test
    void shouldSpreadTuplesOverEveryBucketOfACountThatIsNotAPowerOfTwo()
    {
        final ConntrackTable small = new ConntrackTable(100, 0); // 275 buckets
        assertEquals(275, small.bucketCount());
        final int[] hits = new int[small.bucketCount()];
        for (int i = 0; i < 275 * 200; i++)
        {
            final int bucket = small.bucket(FlowTuple.packAddresses(0x0A00_0000 + i, 0xCB00_7101), FlowTuple.packPorts(6, 40000 + (i & 0xFF), 443));
            assertTrue(bucket >= 0 && bucket < small.bucketCount(), "bucket " + bucket);
            hits[bucket]++;
        }
        for (int ports = 0; ports < hits.length; ports++)
        {
            // 200 expected a bucket: a count outside 100..300 would mean a skewed range reduction
            assertTrue(hits[ports] > 100 && hits[ports] < 300, "bucket " + ports + " got " + hits[ports]);
        }
    }

    @Test
    void shouldRejectCapacityOutOfRange()
    {
        assertThrows(IllegalArgumentException.class, () -> new ConntrackTable(0, 0));
        assertThrows(IllegalArgumentException.class, () -> new ConntrackTable(16 * 1024 * 1024 + 1, 0));
    }
}
