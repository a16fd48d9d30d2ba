package natgw.core.nat;

import java.util.HashSet;
import java.util.Set;

import org.junit.jupiter.api.Test;

import natgw.core.conntrack.ConntrackCounter;
import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.StatusDescriptor;
import natgw.core.conntrack.TcpState;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.core.flow.QueueSteering;
import natgw.core.packet.DropReason;
import natgw.core.packet.TcpHeader;

import static natgw.core.conntrack.ConntrackTable.ORIGINAL;
import static natgw.core.conntrack.ConntrackTable.REPLY;
import static natgw.core.flow.FlowTuple.parseAddress;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NatAllocatorTest
{
    private static final int CLIENT = parseAddress("10.0.0.2");
    private static final int SERVER = parseAddress("203.0.113.9");
    private static final int POOL = parseAddress("198.51.100.1");
    private static final int TCP = 6;
    private static final int UDP = 17;
    private static final int ICMP = 1;

    private final WorkerCounters counters = new WorkerCounters(0);
    private final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
    private ConntrackTable table = new ConntrackTable(1024, 0);

    private NatAllocator allocator(final PortStrategy strategy)
    {
        return new NatAllocator(table, strategy, counters, 0, true, 42);
    }

    private int connect(final NatAllocator allocator, final int client, final int protocol, final int clientPort,
        final int portLow, final int portHigh, final int flags)
    {
        final int dstPort = protocol == ICMP ? 0 : 443;
        return allocator.connect(cursor, FlowTuple.packAddresses(client, SERVER), FlowTuple.packPorts(protocol, clientPort, dstPort),
            POOL, SERVER, dstPort, portLow, portHigh, flags, 0, 1000);
    }

    /** A TCP SYN from {@code client:40000} with sequence number {@code sequence}, searched in {@code portLow..portHigh}. */
    private int syn(final NatAllocator allocator, final int client, final int portLow, final int portHigh, final int sequence)
    {
        return allocator.connect(cursor, FlowTuple.packAddresses(client, SERVER), FlowTuple.packPorts(TCP, 40000, 443),
            POOL, SERVER, 443, portLow, portHigh, SYN_SENT, 0, 1000, true, sequence, TcpHeader.NO_TIMESTAMP);
    }

    /** Ends a connection in {@code tcpState} with its sender's last segment ending at {@code sequenceEnd}, as its FIN would. */
    private void endAt(final int entry, final int tcpState, final int sequenceEnd)
    {
        table.raiseSequenceEnd(cursor, entry, table.status(entry), sequenceEnd);
        assertEquals(sequenceEnd, table.sequenceEnd(entry));
        tcpStateOf(entry, tcpState);
    }

    private int natPort(final int entry)
    {
        return FlowTuple.dstPort(table.tuplePorts(entry, REPLY));
    }

    @Test
    void shouldCreateConfirmedConnectionWithInverseReplyTuple()
    {
        final NatAllocator allocator = allocator(PortStrategy.RESERVE);
        final int entry = connect(allocator, CLIENT, TCP, 40000, 1024, 65535, StatusDescriptor.SRC_NAT);
        assertTrue(entry >= 0);
        assertTrue(allocator.created());
        assertEquals(entry, cursor.entry());
        assertEquals(ORIGINAL, cursor.dir());
        assertEquals(StatusDescriptor.PHASE_CONFIRMED, StatusDescriptor.phase(table.status(entry)));
        assertEquals(FlowTuple.packAddresses(SERVER, POOL), table.tupleAddresses(entry, REPLY));
        assertEquals(FlowTuple.packPorts(TCP, 443, 40000), table.tuplePorts(entry, REPLY), "port preserved");
        assertEquals(1, counters.get(ConntrackCounter.INSERT));
        assertTrue(table.lookup(cursor, FlowTuple.packAddresses(SERVER, POOL), FlowTuple.packPorts(TCP, 443, 40000)));
        assertEquals(REPLY, cursor.dir());
    }

    @Test
    void shouldPickAnotherPortInRangeWhenPreservedOneIsHeld()
    {
        final NatAllocator allocator = allocator(PortStrategy.RESERVE);
        final int first = connect(allocator, CLIENT, TCP, 40000, 1024, 65535, 0);
        final int second = connect(allocator, CLIENT + 1, TCP, 40000, 1024, 65535, 0);
        assertEquals(40000, natPort(first));
        assertNotEquals(40000, natPort(second));
        assertTrue(natPort(second) >= 1024 && natPort(second) <= 65535);
        assertEquals(2, counters.get(ConntrackCounter.INSERT));
        assertTrue(counters.get(ConntrackCounter.PORT_SEARCH_ATTEMPTS) >= 3);
    }

    @Test
    void shouldNotPreserveAPortOutsideTheRange()
    {
        final int entry = connect(allocator(PortStrategy.RESERVE), CLIENT, UDP, 80, 1024, 2047, 0);
        assertTrue(natPort(entry) >= 1024 && natPort(entry) <= 2047, "port " + natPort(entry));
    }

    @Test
    void shouldSearchWholeIdentifierSpaceForIcmp()
    {
        final NatAllocator allocator = allocator(PortStrategy.RESERVE);
        final int first = connect(allocator, CLIENT, ICMP, 7, 1024, 1025, 0);
        assertEquals(FlowTuple.packPorts(ICMP, 0, 7), table.tuplePorts(first, REPLY), "identifier 7 kept though outside the port range");
        final int second = connect(allocator, CLIENT + 1, ICMP, 7, 1024, 1025, 0);
        assertTrue(second >= 0);
        assertNotEquals(7, natPort(second));
    }

    @Test
    void shouldAdoptConnectionOfSameFlowInsteadOfCreatingSecond()
    {
        final NatAllocator allocator = allocator(PortStrategy.RESERVE);
        final int first = connect(allocator, CLIENT, UDP, 5353, 1024, 65535, 0);
        final int again = connect(allocator, CLIENT, UDP, 5353, 1024, 65535, 0);
        assertEquals(first, again);
        assertEquals(1, counters.get(ConntrackCounter.ADOPTED));
        assertEquals(1, counters.get(ConntrackCounter.INSERT));
        assertEquals(1, table.countInUse());
    }

    @Test
    void shouldReportPoolExhaustedWhenEveryPortIsHeld()
    {
        final NatAllocator allocator = allocator(PortStrategy.RESERVE);
        for (int i = 0; i < 4; i++)
        {
            assertTrue(connect(allocator, CLIENT + i, TCP, 40000, 1024, 1027, 0) >= 0, "client " + i);
        }
        assertEquals(-1, connect(allocator, CLIENT + 4, TCP, 40000, 1024, 1027, 0));
        assertEquals(DropReason.POOL_EXHAUSTED, allocator.dropReason());
        assertEquals(1, counters.get(ConntrackCounter.POOL_EXHAUSTED));
        assertEquals(4, table.countInUse(), "the losing reservation is released");
        assertTrue(connect(allocator, CLIENT + 4, TCP, 40000, 1024, 1027, 0) < 0);
    }

    @Test
    void shouldEarlyDropUnassuredConnectionWhenTableIsFull()
    {
        table = new ConntrackTable(4, 0);
        final NatAllocator allocator = allocator(PortStrategy.RESERVE);
        for (int i = 0; i < 4; i++)
        {
            assertTrue(connect(allocator, CLIENT + i, TCP, 40000, 1024, 65535, 0) >= 0);
        }
        final int entry = connect(allocator, CLIENT + 4, TCP, 40000, 1024, 65535, 0);
        assertTrue(entry >= 0);
        assertEquals(1, counters.get(ConntrackCounter.EARLY_DROP));
        assertEquals(4, table.countInUse());
        assertTrue(table.lookup(cursor, FlowTuple.packAddresses(CLIENT + 4, SERVER), FlowTuple.packPorts(TCP, 40000, 443)));
    }

    @Test
    void shouldDropTableFullWhenEveryConnectionIsAssured()
    {
        table = new ConntrackTable(4, 0);
        final NatAllocator allocator = allocator(PortStrategy.RESERVE);
        for (int i = 0; i < 4; i++)
        {
            assertTrue(connect(allocator, CLIENT + i, TCP, 40000, 1024, 65535, StatusDescriptor.ASSURED) >= 0);
        }
        assertEquals(-1, connect(allocator, CLIENT + 4, TCP, 40000, 1024, 65535, 0));
        assertEquals(DropReason.TABLE_FULL, allocator.dropReason());
        assertEquals(0, counters.get(ConntrackCounter.EARLY_DROP));
        assertEquals(1, counters.get(ConntrackCounter.DROP));
        assertEquals(4, table.countInUse());
    }

    @Test
    void shouldBehaveLikeReserveForSequentialFlowsWithKernelStrategy()
    {
        final NatAllocator allocator = allocator(PortStrategy.KERNEL);
        final int first = connect(allocator, CLIENT, TCP, 40000, 1024, 65535, 0);
        final int second = connect(allocator, CLIENT + 1, TCP, 40000, 1024, 65535, 0);
        assertEquals(40000, natPort(first));
        assertNotEquals(40000, natPort(second));
        assertEquals(2, counters.get(ConntrackCounter.INSERT));
        assertEquals(0, counters.get(ConntrackCounter.INSERT_FAILED));
    }

    @Test
    void shouldResolveUdpClashWithKernelStrategyByAdopting()
    {
        final NatAllocator allocator = allocator(PortStrategy.KERNEL);
        final int first = connect(allocator, CLIENT, UDP, 5353, 1024, 65535, 0);
        assertEquals(first, connect(allocator, CLIENT, UDP, 5353, 1024, 65535, 0));
        assertEquals(1, counters.get(ConntrackCounter.CLASH_RESOLVE));
        assertEquals(0, counters.get(ConntrackCounter.INSERT_FAILED));
    }

    @Test
    void shouldFailInsertOfTcpFlowThatAlreadyExistsWithKernelStrategy()
    {
        final NatAllocator allocator = allocator(PortStrategy.KERNEL);
        connect(allocator, CLIENT, TCP, 40000, 1024, 65535, 0);
        assertEquals(-1, connect(allocator, CLIENT, TCP, 40000, 1024, 65535, 0));
        assertEquals(DropReason.INSERT_FAILED, allocator.dropReason());
        assertEquals(1, counters.get(ConntrackCounter.INSERT_FAILED));
        assertEquals(1, table.countInUse());
    }

    @Test
    void shouldNotPreservePortsWithRandomStrategies()
    {
        for (final PortStrategy strategy : new PortStrategy[]{ PortStrategy.RANDOM, PortStrategy.RANDOM_FULLY })
        {
            table = new ConntrackTable(1024, 0);
            final NatAllocator allocator = allocator(strategy);
            int preserved = 0;
            for (int i = 0; i < 100; i++)
            {
                final int entry = connect(allocator, CLIENT + i, TCP, 40000 + i, 1024, 65535, 0);
                assertTrue(entry >= 0);
                preserved += natPort(entry) == 40000 + i ? 1 : 0;
            }
            assertTrue(preserved < 3, strategy + " preserved " + preserved + " of 100 ports");
        }
    }

    @Test
    void shouldKeepSourceWithoutSourceNat()
    {
        final NatAllocator allocator = allocator(PortStrategy.RESERVE);
        final int backend = parseAddress("10.9.9.9");
        final int entry = allocator.connect(cursor, FlowTuple.packAddresses(CLIENT, SERVER), FlowTuple.packPorts(TCP, 40000, 443),
            0, backend, 8443, 1024, 65535, StatusDescriptor.DST_NAT, 5, 1000);
        assertTrue(entry >= 0);
        assertEquals(FlowTuple.packAddresses(backend, CLIENT), table.tupleAddresses(entry, REPLY));
        assertEquals(FlowTuple.packPorts(TCP, 8443, 40000), table.tuplePorts(entry, REPLY));
        assertEquals(5, table.extra(entry));
    }

    private static final int SYN_SENT = StatusDescriptor.SRC_NAT | TcpState.SYN_SENT << StatusDescriptor.TCP_STATE_SHIFT;

    /** Moves a connection to {@code tcpState}, as its packets would. */
    private void tcpStateOf(final int entry, final int tcpState)
    {
        final int status = table.status(entry);
        assertTrue(table.compareAndSetStatus(entry, status, StatusDescriptor.withTcpState(status, tcpState)));
    }

    @Test
    void shouldGiveAClosedConnectionsNatTupleToANewSynWhenThePoolIsFull()
    {
        for (final PortStrategy strategy : new PortStrategy[] {PortStrategy.RESERVE, PortStrategy.KERNEL})
        {
            table = new ConntrackTable(1024, 0);
            final NatAllocator allocator = allocator(strategy);
            final int old = syn(allocator, CLIENT, 1024, 1024, 1000);
            endAt(old, TcpState.CLOSE, 1001);
            final long takenOver = counters.get(ConntrackCounter.TAKEN_OVER);

            final int next = syn(allocator, CLIENT + 1, 1024, 1024, 1_000_000);

            assertTrue(next >= 0, strategy + ": " + allocator.dropReason());
            assertEquals(1024, natPort(next));
            assertEquals(1, table.countInUse(), strategy + ": the closed connection ended");
            assertTrue(table.lookup(cursor, FlowTuple.packAddresses(SERVER, POOL), FlowTuple.packPorts(TCP, 443, 1024)));
            assertEquals(next, cursor.entry());
            assertEquals(takenOver + 1, counters.get(ConntrackCounter.TAKEN_OVER));
        }
    }

    @Test
    void shouldTakeOverATimeWaitConnectionsNatTuple()
    {
        final NatAllocator allocator = allocator(PortStrategy.RESERVE);
        final int old = syn(allocator, CLIENT, 1024, 1024, 1000);
        endAt(old, TcpState.TIME_WAIT, 5001);
        assertTrue(syn(allocator, CLIENT + 1, 1024, 1024, 5002) >= 0);
        assertEquals(1, counters.get(ConntrackCounter.TAKEN_OVER));
    }

    @Test
    void shouldTakeOverATimeWaitConnectionOnlyForASynPastItsSequenceEnd()
    {
        for (final PortStrategy strategy : new PortStrategy[] {PortStrategy.RESERVE, PortStrategy.KERNEL})
        {
            table = new ConntrackTable(1024, 0);
            final NatAllocator allocator = allocator(strategy);
            final int old = syn(allocator, CLIENT, 1024, 1024, 1000);
            endAt(old, TcpState.TIME_WAIT, 5001);
            final long takenOver = counters.get(ConntrackCounter.TAKEN_OVER);
            final long exhausted = counters.get(ConntrackCounter.POOL_EXHAUSTED);

            for (final int sequence : new int[] {1000, 5000, 5001})
            {
                assertEquals(-1, syn(allocator, CLIENT + 1, 1024, 1024, sequence), strategy + ": SYN at " + sequence);
                assertEquals(DropReason.POOL_EXHAUSTED, allocator.dropReason());
                assertEquals(StatusDescriptor.PHASE_CONFIRMED, StatusDescriptor.phase(table.status(old)), "the holder lives on");
            }
            assertEquals(takenOver, counters.get(ConntrackCounter.TAKEN_OVER));
            assertEquals(exhausted + 3, counters.get(ConntrackCounter.POOL_EXHAUSTED));
            assertTrue(counters.get(ConntrackCounter.TAKE_OVER_REFUSED) >= 3, strategy + ": each refusal counted");

            final int next = syn(allocator, CLIENT + 1, 1024, 1024, 5002);
            assertTrue(next >= 0, strategy + ": the first number past the end: " + allocator.dropReason());
            assertEquals(takenOver + 1, counters.get(ConntrackCounter.TAKEN_OVER));
            assertEquals(1, table.countInUse());
        }
    }

    @Test
    void shouldChooseAnotherPortThanATimeWaitConnectionsWhoseSequenceEndTheSynIsNotPast()
    {
        final NatAllocator allocator = allocator(PortStrategy.RESERVE);
        final int old = syn(allocator, CLIENT, 1024, 1024, 1000);
        endAt(old, TcpState.TIME_WAIT, 5001);

        final int next = syn(allocator, CLIENT + 1, 1024, 1025, 3000);

        assertTrue(next >= 0, allocator.dropReason().toString());
        assertEquals(1025, natPort(next));
        assertEquals(StatusDescriptor.PHASE_CONFIRMED, StatusDescriptor.phase(table.status(old)));
        assertEquals(1024, natPort(old));
        assertEquals(0, counters.get(ConntrackCounter.TAKEN_OVER));
    }

    @Test
    void shouldTakeOverATimeWaitConnectionForASynPastItsSequenceEndAcrossTheWrap()
    {
        final NatAllocator allocator = allocator(PortStrategy.RESERVE);
        final int old = syn(allocator, CLIENT, 1024, 1024, 0xFFFF_FF00);
        endAt(old, TcpState.TIME_WAIT, 0xFFFF_FFF0);

        assertEquals(-1, syn(allocator, CLIENT + 1, 1024, 1024, 0xFFFF_FF80), "before the end, under the wrap");
        assertTrue(syn(allocator, CLIENT + 1, 1024, 1024, 0x10) >= 0, "past the end, over the wrap");
        assertEquals(1, counters.get(ConntrackCounter.TAKEN_OVER));
    }

    @Test
    void shouldStartANewTcpConnectionsSequenceEndAtItsFirstPacketsSequence()
    {
        final NatAllocator allocator = allocator(PortStrategy.RESERVE);
        final int entry = syn(allocator, CLIENT, 1024, 65535, 0xCAFE_F00D);
        assertEquals(0xCAFE_F00D, table.sequenceEnd(entry));
    }

    @Test
    void shouldNeverTakeOverALiveConnectionsNatTuple()
    {
        final NatAllocator allocator = allocator(PortStrategy.RESERVE);
        final int old = connect(allocator, CLIENT, TCP, 40000, 1024, 1024, SYN_SENT);
        for (final int state : new int[] {TcpState.SYN_SENT, TcpState.ESTABLISHED, TcpState.FIN_WAIT, TcpState.LAST_ACK})
        {
            tcpStateOf(old, state);
            assertEquals(-1, connect(allocator, CLIENT + 1, TCP, 40000, 1024, 1024, SYN_SENT), TcpState.name(state));
            assertEquals(DropReason.POOL_EXHAUSTED, allocator.dropReason());
            assertEquals(StatusDescriptor.PHASE_CONFIRMED, StatusDescriptor.phase(table.status(old)));
        }
        assertEquals(0, counters.get(ConntrackCounter.TAKEN_OVER));
        assertEquals(0, counters.get(ConntrackCounter.TAKE_OVER_REFUSED), "a live holder is never a refused take-over");
    }

    @Test
    void shouldNotTakeOverForUdpNorForAConnectionNotStartedBySyn()
    {
        final NatAllocator allocator = allocator(PortStrategy.RESERVE);
        final int old = connect(allocator, CLIENT, TCP, 40000, 1024, 1024, SYN_SENT);
        tcpStateOf(old, TcpState.CLOSE);
        final int established = StatusDescriptor.SRC_NAT | TcpState.ESTABLISHED << StatusDescriptor.TCP_STATE_SHIFT;
        assertEquals(-1, connect(allocator, CLIENT + 1, TCP, 40000, 1024, 1024, established), "picked up mid-stream");
        final int udp = connect(allocator, CLIENT, UDP, 40000, 1024, 1024, StatusDescriptor.SRC_NAT);
        assertTrue(udp >= 0, "UDP has its own tuples");
        final int udpSecond = connect(allocator, CLIENT + 1, UDP, 40000, 1024, 1024, StatusDescriptor.SRC_NAT);
        assertEquals(-1, udpSecond);
        assertEquals(0, counters.get(ConntrackCounter.TAKEN_OVER));
    }

    @Test
    void shouldPreferAFreeTupleToAClosedConnectionsOne()
    {
        final NatAllocator allocator = allocator(PortStrategy.RESERVE);
        final int old = connect(allocator, CLIENT, TCP, 40000, 1024, 65535, SYN_SENT);
        tcpStateOf(old, TcpState.CLOSE);
        final int next = connect(allocator, CLIENT + 1, TCP, 40000, 1024, 65535, SYN_SENT);
        assertNotEquals(40000, natPort(next), "the preserved port is not taken over while others are free");
        assertEquals(StatusDescriptor.PHASE_CONFIRMED, StatusDescriptor.phase(table.status(old)));
        assertEquals(0, counters.get(ConntrackCounter.TAKEN_OVER));
    }

    @Test
    void shouldAimEachSearchedPortsRepliesAtItsWorkersQueue()
    {
        for (int queue = 0; queue < 3; queue++)
        {
            table = new ConntrackTable(1024, 0);
            final NatAllocator allocator = allocator(PortStrategy.RESERVE).steeredQueues(3, queue);
            assertEquals(40000, natPort(connect(allocator, CLIENT, TCP, 40000, 1024, 65535, SYN_SENT)), "a free port is kept");
            for (int i = 1; i < 200; i++)
            {
                final int entry = connect(allocator, CLIENT + i, TCP, 40000, 1024, 65535, SYN_SENT);
                assertTrue(entry >= 0);
                // replies from server port 443 to the NAT port: queue (443 + port) mod 3
                assertEquals(queue, QueueSteering.portsQueue(443, natPort(entry), 3), "client " + i + "'s port " + natPort(entry));
            }
        }
    }

    @Test
    void shouldAimRepliesAtTheFlowsQueueAndHintWhetherTheEndpointKeptItsPort()
    {
        final KeptPortHints hints = new KeptPortHints(new org.agrona.concurrent.UnsafeBuffer(new byte[KeptPortHints.SLOTS]));
        // the worker reads queue 0, but a UDP flow's first datagram may reach it by an older hint: aim at the flow's
        final NatAllocator allocator = allocator(PortStrategy.RESERVE).steeredQueues(3, 0).flowSteering(hints);
        assertEquals(40000, natPort(connect(allocator, CLIENT, UDP, 40000, 1024, 65535, StatusDescriptor.SRC_NAT)));
        assertTrue(hints.kept(CLIENT, 40000));
        final java.util.Set<Integer> flowQueues = new HashSet<>();
        for (int i = 1; i < 100; i++)
        {
            final int entry = connect(allocator, CLIENT + i, UDP, 40000, 1024, 65535, StatusDescriptor.SRC_NAT);
            assertTrue(entry >= 0);
            final long flowSum = (CLIENT + i & 0xFFFF_FFFFL) + (SERVER & 0xFFFF_FFFFL) + 40000 + 443;
            flowQueues.add(QueueSteering.queue(flowSum, 3));
            assertEquals(QueueSteering.queue(flowSum, 3), QueueSteering.portsQueue(443, natPort(entry), 3), "client " + i + "'s port " + natPort(entry));
            assertFalse(hints.kept(CLIENT + i, 40000), "client " + i + " did not keep its port");
        }
        assertEquals(3, flowQueues.size(), "the flows' queues differ: aimed at each, not at the worker's");

        // the newest connection of an endpoint says: kept, then not (its port is another's towards 443), then kept
        final int endpoint = CLIENT + 300;
        assertTrue(connect(allocator, endpoint, UDP, 50000, 1024, 65535, StatusDescriptor.SRC_NAT) >= 0);
        assertTrue(hints.kept(endpoint, 50000));
        table = new ConntrackTable(1024, 0);
        final NatAllocator again = allocator(PortStrategy.RESERVE).steeredQueues(3, 0).flowSteering(hints);
        assertEquals(50000, natPort(connect(again, CLIENT + 301, UDP, 50000, 1024, 65535, StatusDescriptor.SRC_NAT)));
        assertTrue(connect(again, endpoint, UDP, 50000, 1024, 65535, StatusDescriptor.SRC_NAT) >= 0);
        assertFalse(hints.kept(endpoint, 50000));
        final int toAnotherPort = again.connect(cursor, FlowTuple.packAddresses(endpoint, SERVER), FlowTuple.packPorts(UDP, 50000, 444),
            POOL, SERVER, 444, 1024, 65535, StatusDescriptor.SRC_NAT, 0, 1000);
        assertEquals(50000, natPort(toAnotherPort));
        assertTrue(hints.kept(endpoint, 50000));
    }

    @Test
    void shouldSteerEachConnectionsRepliesToTheWorkerThatMadeItWhateverItsPort()
    {
        final ConnectionQueueHints hints = new ConnectionQueueHints(new org.agrona.concurrent.UnsafeBuffer(new byte[ConnectionQueueHints.BYTES]), 3);
        // worker 2 of 3, nothing aimed: a kept port and searched ones alike
        final NatAllocator allocator = allocator(PortStrategy.RESERVE).connectionSteering(hints, 2);
        int searched = 0;
        int naturallyElsewhere = 0;
        for (int i = 0; i < 60; i++)
        {
            final int entry = connect(allocator, CLIENT + i, i % 2 == 0 ? TCP : UDP, 40000, 1024, 65535, StatusDescriptor.SRC_NAT);
            assertTrue(entry >= 0);
            final long replyAddresses = table.tupleAddresses(entry, REPLY);
            final long replyPorts = table.tuplePorts(entry, REPLY);
            assertEquals(2, hints.queue(replyAddresses, replyPorts), "client " + i + "'s replies, port " + natPort(entry));
            searched += natPort(entry) != 40000 ? 1 : 0;
            naturallyElsewhere += QueueSteering.flowQueue(replyAddresses, replyPorts, 3) != 2 ? 1 : 0;
        }
        assertEquals(58, searched, "two clients kept port 40000 (one TCP, one UDP); the rest got others");
        assertTrue(naturallyElsewhere > 20, "the flow hash alone would have sent many elsewhere: " + naturallyElsewhere);
    }

    @Test
    void shouldSteerTheRepliesOfConnectionsKeptAcrossARestartToTheirOriginalsQueue()
    {
        final NatAllocator allocator = allocator(PortStrategy.RESERVE);
        for (int i = 0; i < 40; i++)
        {
            assertTrue(connect(allocator, CLIENT + i, i % 2 == 0 ? TCP : UDP, 40000 + (i & 1), 1024, 65535, StatusDescriptor.SRC_NAT) >= 0);
        }
        assertTrue(connect(allocator, CLIENT + 99, ICMP, 7, 1024, 65535, StatusDescriptor.SRC_NAT) >= 0);
        // the restarted gateway's map holds no hint; restore writes them from the table
        final ConnectionQueueHints hints = new ConnectionQueueHints(new org.agrona.concurrent.UnsafeBuffer(new byte[ConnectionQueueHints.BYTES]), 3);
        assertEquals(41, hints.restore(table), "every connection, ICMP's too (which gets no hint)");
        int apart = 0;
        for (int entry = 0; entry < table.highWater(); entry++)
        {
            final int status = table.status(entry);
            if (!StatusDescriptor.isConfirmed(status) || StatusDescriptor.isMapping(status) ||
                FlowTuple.protocol(table.tuplePorts(entry, ORIGINAL)) == ICMP)
            {
                continue; // a mapping, a free entry, or ICMP (steered by its addresses)
            }
            final int originals = QueueSteering.flowQueue(table.tupleAddresses(entry, ORIGINAL), table.tuplePorts(entry, ORIGINAL), 3);
            assertEquals(originals, hints.queue(table.tupleAddresses(entry, REPLY), table.tuplePorts(entry, REPLY)), "entry " + entry);
            apart += QueueSteering.flowQueue(table.tupleAddresses(entry, REPLY), table.tuplePorts(entry, REPLY), 3) != originals ? 1 : 0;
        }
        assertTrue(apart > 10, "without the hints many replies would go elsewhere: " + apart);
    }

    @Test
    void shouldAimRepliesFromATranslatedDestinationPort()
    {
        final NatAllocator allocator = allocator(PortStrategy.RESERVE).steeredQueues(4, 1);
        final long origPorts = FlowTuple.packPorts(TCP, 40000, 80);
        for (int i = 0; i < 50; i++)
        {
            // client:40000 -> VIP:80, to a backend's port 8080: replies 8080 -> NAT port
            final int entry = allocator.connect(cursor, FlowTuple.packAddresses(CLIENT + i, SERVER), origPorts, POOL, SERVER, 8080,
                1024, 65535, SYN_SENT, 0, 1000);
            assertTrue(entry >= 0);
            if (i > 0)
            {
                assertEquals(1, QueueSteering.portsQueue(8080, natPort(entry), 4), "client " + i + "'s port " + natPort(entry));
            }
        }
    }

    @Test
    void shouldTakeThePortsOfOtherQueuesWhenNoneOfItsOwnIsFree()
    {
        final NatAllocator allocator = allocator(PortStrategy.RESERVE).steeredQueues(2, 1);
        int own = 0;
        for (int port = 1024; port <= 1031; port++)
        {
            own += QueueSteering.portsQueue(443, port, 2) == 1 ? 1 : 0;
        }
        assertTrue(own > 0 && own < 8, "the pool has ports of both queues: " + own);
        final Set<Integer> ports = new HashSet<>();
        for (int i = 0; i < 8; i++)
        {
            final int entry = connect(allocator, CLIENT + i, UDP, 40000, 1024, 1031, StatusDescriptor.SRC_NAT);
            assertTrue(entry >= 0, "connection " + i + " of 8 in a pool of 8 ports");
            ports.add(natPort(entry));
            if (i < own)
            {
                assertEquals(1, QueueSteering.portsQueue(443, natPort(entry), 2), "the first " + own + " on the worker's queue");
            }
        }
        assertEquals(8, ports.size(), "every port of the pool: " + ports);
        assertEquals(-1, connect(allocator, CLIENT + 8, UDP, 40000, 1024, 1031, StatusDescriptor.SRC_NAT), "then the pool is full");
    }

    @Test
    void shouldTakeOverAnEndedConnectionOnItsOwnQueueBeforeAFreePortOfAnotherOnlyPastItsSequenceEnd()
    {
        final NatAllocator allocator = allocator(PortStrategy.RESERVE).steeredQueues(2, 0);
        // 1024..1087: ended connections, their last segments ending at 5001, hold every port whose replies from 443
        // come to queue 0 (their clients' own ports, kept)
        int client = 0;
        for (int port = 1024; port <= 1087; port++)
        {
            if (QueueSteering.portsQueue(443, port, 2) == 0)
            {
                final int held = connect(allocator, CLIENT + client++, TCP, port, 1024, 1087, SYN_SENT);
                assertEquals(port, natPort(held));
                endAt(held, TcpState.CLOSE, 5001);
            }
        }
        assertTrue(client > 0 && client < 64, "ports of both queues: " + client);

        // a SYN not past their sequence ends may not take one over: a free port, on the other queue
        final int before = syn(allocator, CLIENT + 100, 1024, 1087, 3000);
        assertTrue(before >= 0);
        assertEquals(1, QueueSteering.portsQueue(443, natPort(before), 2), "a free port, on the other queue: " + natPort(before));
        assertEquals(0, counters.get(ConntrackCounter.TAKEN_OVER), "no ended connection's tuple taken over");

        // a SYN past them: on the aimed search's last attempts, an ended connection's port on the worker's own queue
        final int past = syn(allocator, CLIENT + 101, 1024, 1087, 1_000_000);
        assertTrue(past >= 0);
        assertEquals(0, QueueSteering.portsQueue(443, natPort(past), 2), "its replies to the worker's queue: " + natPort(past));
        assertEquals(1, counters.get(ConntrackCounter.TAKEN_OVER), "one ended connection's tuple taken over");
    }

    @Test
    void shouldSearchAsTheKernelDoesWithTheKernelsStrategies()
    {
        for (final PortStrategy strategy : new PortStrategy[]{ PortStrategy.KERNEL, PortStrategy.RANDOM, PortStrategy.RANDOM_FULLY })
        {
            table = new ConntrackTable(1024, 0);
            final NatAllocator steered = allocator(strategy).steeredQueues(2, 1);
            final java.util.List<Integer> steeredPorts = new java.util.ArrayList<>();
            for (int i = 0; i < 20; i++)
            {
                steeredPorts.add(natPort(connect(steered, CLIENT + i, TCP, 40000, 1024, 65535, SYN_SENT)));
            }
            table = new ConntrackTable(1024, 0);
            final NatAllocator plain = allocator(strategy);
            final java.util.List<Integer> plainPorts = new java.util.ArrayList<>();
            for (int i = 0; i < 20; i++)
            {
                plainPorts.add(natPort(connect(plain, CLIENT + i, TCP, 40000, 1024, 65535, SYN_SENT)));
            }
            assertEquals(plainPorts, steeredPorts, strategy + " ignores the queues");
        }
    }
}
