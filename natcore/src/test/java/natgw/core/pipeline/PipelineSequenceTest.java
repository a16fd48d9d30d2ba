package natgw.core.pipeline;

import java.util.List;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import natgw.core.conntrack.ConntrackCounter;
import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.StatusDescriptor;
import natgw.core.conntrack.TcpState;
import natgw.core.conntrack.Timeouts;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.core.nat.Cidr;
import natgw.core.nat.EndpointDependence;
import natgw.core.nat.NatAllocator;
import natgw.core.nat.PortStrategy;
import natgw.core.nat.SnatPolicy;
import natgw.core.packet.DropReason;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.PacketBuilder;
import natgw.core.packet.TcpHeader;

import static natgw.core.flow.FlowTuple.parseAddress;
import static natgw.core.packet.TcpHeader.ACK;
import static natgw.core.packet.TcpHeader.FIN;
import static natgw.core.packet.TcpHeader.PSH;
import static natgw.core.packet.TcpHeader.RST;
import static natgw.core.packet.TcpHeader.SYN;
import static natgw.core.testing.PacketAssertions.assertChecksumsValid;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A TCP connection's original direction's sequence end: recorded by the packet path's tracking, and what a SYN
 * must be past to take an ended connection's NAT tuple over (Linux's {@code nf_seq_has_advanced}).
 * <pre>
 *   A 10.77.1.2, B 10.77.1.3 --[pool 198.51.100.1]-- server 203.0.113.9
 * </pre>
 */
class PipelineSequenceTest
{
    private static final int HOST_A = parseAddress("10.77.1.2");
    private static final int HOST_B = parseAddress("10.77.1.3");
    private static final int POOL = parseAddress("198.51.100.1");
    private static final int SERVER = parseAddress("203.0.113.9");
    private static final int PORT = 40000;
    private static final int SERVER_ISN = 700_000;

    private final ConntrackTable table = new ConntrackTable(1024, 0);
    private final WorkerCounters counters = new WorkerCounters(0);
    private final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
    private final PacketBuilder builder = new PacketBuilder();
    private final UnsafeBuffer buffer = builder.buffer();
    private final Ipv4Header ip = new Ipv4Header();
    private final TcpHeader tcp = new TcpHeader();
    private Pipeline pipeline = pipeline(1024, 65535, EndpointDependence.ADDRESS_AND_PORT_DEPENDENT);
    private long nowNs = 1_000_000_000L;

    private Pipeline pipeline(final int portLow, final int portHigh, final EndpointDependence mapping)
    {
        return pipeline(PortStrategy.RESERVE, portLow, portHigh, mapping);
    }

    private Pipeline pipeline(final PortStrategy strategy, final int portLow, final int portHigh, final EndpointDependence mapping)
    {
        final SnatPolicy snat = new SnatPolicy(List.of(Cidr.parse("10.77.1.0/24")), new int[]{ POOL }, portLow, portHigh);
        return new Pipeline(table, new NatAllocator(table, strategy, counters, 0, true, 42, mapping), snat,
            new Timeouts(), counters, true);
    }

    private int process(final int length)
    {
        nowNs += 1_000_000L;
        return pipeline.process(buffer, 0, length, nowNs);
    }

    private void forward(final int length)
    {
        final int verdict = process(length);
        assertEquals(Pipeline.FORWARD, verdict, () -> "dropped: " + DropReason.get(verdict));
        assertChecksumsValid(buffer, 0, length);
        ip.wrap(buffer, 0);
        tcp.wrap(buffer, ip.payloadOffset());
    }

    /** A segment from {@code host:PORT} to the server; returns the NAT port it went out with. */
    private int out(final int host, final int flags, final int seq, final int payload)
    {
        forward(builder.tcp(0, host, PORT, SERVER, 443, flags, seq, SERVER_ISN + 1, payload));
        assertEquals(POOL, ip.srcAddress());
        return tcp.srcPort();
    }

    private void in(final int natPort, final int flags, final int seq, final int ack)
    {
        forward(builder.tcp(0, SERVER, 443, POOL, natPort, flags, seq, ack, 0));
    }

    private int entry(final int host)
    {
        assertTrue(table.lookup(cursor, FlowTuple.packAddresses(host, SERVER), FlowTuple.packPorts(Ipv4Header.PROTO_TCP, PORT, 443)));
        return cursor.entry();
    }

    private int sequenceEnd(final int host)
    {
        return table.sequenceEnd(entry(host));
    }

    private int closingTimestamp(final int host)
    {
        final int entry = entry(host);
        return table.closingTimestamp(entry, table.status(entry));
    }

    private int tcpState(final int host)
    {
        return StatusDescriptor.tcpState(table.status(entry(host)));
    }

    /** Handshake from {@code isn}; returns the NAT port. */
    private int establish(final int host, final int isn)
    {
        final int natPort = out(host, SYN, isn, 0);
        in(natPort, SYN | ACK, SERVER_ISN, isn + 1);
        out(host, ACK, isn + 1, 0);
        assertEquals(TcpState.ESTABLISHED, tcpState(host));
        return natPort;
    }

    /** The host closes first at {@code finSeq}, the server follows: TIME_WAIT. */
    private void closeAt(final int host, final int natPort, final int finSeq)
    {
        out(host, FIN | ACK, finSeq, 0);
        in(natPort, FIN | ACK, SERVER_ISN + 1, finSeq + 1);
        out(host, ACK, finSeq + 1, 0);
        assertEquals(TcpState.TIME_WAIT, tcpState(host));
    }

    @Test
    void shouldStartTheSequenceEndPastTheSyn()
    {
        out(HOST_A, SYN, 1000, 0);
        assertEquals(1001, sequenceEnd(HOST_A));
    }

    @Test
    void shouldRecordTheEndOfTheFinPastAllDataBeforeIt()
    {
        final int natPort = establish(HOST_A, 1000);
        out(HOST_A, ACK | PSH, 1001, 500);
        out(HOST_A, ACK | PSH, 1501, 500);
        assertEquals(1001, sequenceEnd(HOST_A), "data segments touch nothing but the entry's line");
        out(HOST_A, FIN | ACK | PSH, 2001, 100);
        assertEquals(2102, sequenceEnd(HOST_A), "the FIN's sequence, its payload and one for the FIN");
        in(natPort, FIN | ACK, SERVER_ISN + 1, 2102);
        assertEquals(2102, sequenceEnd(HOST_A), "the server's segments are the other direction's");
    }

    @Test
    void shouldNotMoveTheSequenceEndBackForARetransmission()
    {
        final int natPort = establish(HOST_A, 1000);
        closeAt(HOST_A, natPort, 5000);
        assertEquals(5001, sequenceEnd(HOST_A));
        out(HOST_A, FIN | ACK, 5000, 0);
        assertEquals(5001, sequenceEnd(HOST_A), "the FIN again");
        out(HOST_A, FIN | ACK | PSH, 4000, 1000);
        assertEquals(5001, sequenceEnd(HOST_A), "data and FIN again");
        out(HOST_A, RST, 3000, 0);
        assertEquals(5001, sequenceEnd(HOST_A), "an older RST");
    }

    @Test
    void shouldRecordAFinThatLeavesTheStateAsItFoundIt()
    {
        final int natPort = establish(HOST_A, 1000);
        in(natPort, FIN | ACK, SERVER_ISN + 1, 1001);
        in(natPort, FIN | ACK, SERVER_ISN + 1, 1001);
        assertEquals(TcpState.LAST_ACK, tcpState(HOST_A), "the server's FIN twice");
        out(HOST_A, FIN | ACK, 3000, 0);
        assertEquals(TcpState.LAST_ACK, tcpState(HOST_A));
        assertEquals(3001, sequenceEnd(HOST_A), "not the steady path's: it records no sequence");
    }

    @Test
    void shouldRecordAResetsSequence()
    {
        establish(HOST_A, 1000);
        out(HOST_A, RST | ACK, 9000, 0);
        assertEquals(TcpState.CLOSE, tcpState(HOST_A));
        assertEquals(9000, sequenceEnd(HOST_A));
    }

    @Test
    void shouldRecordTheSequenceEndAcrossTheWrap()
    {
        final int natPort = establish(HOST_A, 0xFFFF_FFF0);
        assertEquals(0xFFFF_FFF1, sequenceEnd(HOST_A));
        closeAt(HOST_A, natPort, 0x20);
        assertEquals(0x21, sequenceEnd(HOST_A), "past the top of the space");
        out(HOST_A, FIN | ACK, 0xFFFF_FFF8, 0);
        assertEquals(0x21, sequenceEnd(HOST_A), "a FIN from before the wrap is behind it");
    }

    @Test
    void shouldTakeOverATimeWaitConnectionsTupleForASynPastItsEnd()
    {
        pipeline = pipeline(1024, 1024, EndpointDependence.ADDRESS_AND_PORT_DEPENDENT);
        final int natPort = establish(HOST_A, 1000);
        closeAt(HOST_A, natPort, 5000);

        assertEquals(natPort, out(HOST_B, SYN, 5002, 0));

        assertEquals(1, counters.get(ConntrackCounter.TAKEN_OVER));
        assertEquals(1, table.countInUse(), "the TIME_WAIT connection ended");
        assertEquals(5003, sequenceEnd(HOST_B));
    }

    @Test
    void shouldNotTakeOverATimeWaitConnectionsTupleForASynNotPastItsEnd()
    {
        pipeline = pipeline(1024, 1024, EndpointDependence.ADDRESS_AND_PORT_DEPENDENT);
        final int natPort = establish(HOST_A, 1000);
        closeAt(HOST_A, natPort, 5000);

        // at the end (the server's next expected number), before it, and more than half the space ahead, which is behind
        for (final int seq : new int[] {5001, 4000, 5001 + 0x8000_0001})
        {
            assertEquals(DropReason.POOL_EXHAUSTED.id(), process(builder.tcp(0, HOST_B, PORT, SERVER, 443, SYN, seq, 0, 0)),
                "SYN at " + Integer.toUnsignedString(seq) + ": the server may hold the 4-tuple in TIME_WAIT past it");
        }
        assertEquals(0, counters.get(ConntrackCounter.TAKEN_OVER));
        assertEquals(TcpState.TIME_WAIT, tcpState(HOST_A), "the holder waits out its timer");
    }

    /** The server closes first; the host's FIN carries {@code tsval}: the server holds TIME_WAIT with it. */
    private void closedByServer(final int host, final int natPort, final int finSeq, final long tsval)
    {
        in(natPort, FIN | ACK, SERVER_ISN + 1, finSeq);
        out(host, ACK, finSeq, 0);
        forward(builder.tcp(0, host, PORT, SERVER, 443, FIN | ACK, finSeq, SERVER_ISN + 2, tsval, 0));
        in(natPort, ACK, SERVER_ISN + 2, finSeq + 1);
        assertEquals(TcpState.TIME_WAIT, tcpState(host));
    }

    /**
     * A pool of one port whose tuple the server holds in TIME_WAIT: host A's connection, closed by the server first,
     * its FIN at sequence 5000 with {@code tsval}; returns the port.
     */
    private int heldInTimeWaitByTheServer(final EndpointDependence mapping, final long tsval)
    {
        pipeline = pipeline(1024, 1024, mapping);
        final int natPort = establish(HOST_A, 1000);
        closedByServer(HOST_A, natPort, 5000, tsval);
        return natPort;
    }

    private int synWithTimestamp(final int host, final int seq, final long tsval)
    {
        return process(builder.tcp(0, host, PORT, SERVER, 443, SYN, seq, 0, tsval, 0));
    }

    @Test
    void shouldRecordTheHostsClosingTimestampOnlyWhenTheServerClosedFirst()
    {
        final int natPort = establish(HOST_A, 1000);
        closedByServer(HOST_A, natPort, 5000, 0xF000_0001L);
        assertEquals(0xF000_0001, closingTimestamp(HOST_A));
        forward(builder.tcp(0, HOST_A, PORT, SERVER, 443, FIN | ACK, 5000, SERVER_ISN + 2, 0xF000_0000L, 0));
        assertEquals(0xF000_0001, closingTimestamp(HOST_A), "an older copy of the FIN: never back");
        forward(builder.tcp(0, HOST_A, PORT, SERVER, 443, FIN | ACK, 5000, SERVER_ISN + 2, 0x0000_0005L, 0));
        assertEquals(0x0000_0005, closingTimestamp(HOST_A), "a retransmission, past the wrap");

        final int natPortB = establish(HOST_B, 1000);
        out(HOST_B, FIN | ACK, 5000, 0);
        in(natPortB, FIN | ACK, SERVER_ISN + 1, 5001);
        forward(builder.tcp(0, HOST_B, PORT, SERVER, 443, ACK, 5001, SERVER_ISN + 2, 77L, 0));
        assertEquals(TcpState.TIME_WAIT, tcpState(HOST_B));
        assertEquals(0, closingTimestamp(HOST_B), "the host closed first: the server's socket ends in LAST_ACK");
    }

    @Test
    void shouldNotTakeOverATupleTheServerHoldsInTimeWaitForASynWithAnOlderTimestamp()
    {
        heldInTimeWaitByTheServer(EndpointDependence.ADDRESS_AND_PORT_DEPENDENT, 100_000);

        // past the sequence end, but older by the timestamp (across the wrap too): the server's PAWS check refuses it
        for (final long tsval : new long[] {99_999, 100_000L - 0x7FFF_FFFFL & 0xFFFF_FFFFL})
        {
            assertEquals(DropReason.POOL_EXHAUSTED.id(), synWithTimestamp(HOST_B, 6000, tsval), "TSval " + tsval);
        }
        assertEquals(2, counters.get(ConntrackCounter.TAKE_OVER_REFUSED_TIMESTAMP));
        assertEquals(0, counters.get(ConntrackCounter.TAKEN_OVER));
        assertEquals(TcpState.TIME_WAIT, tcpState(HOST_A), "the holder waits out its timer");

        assertEquals(Pipeline.FORWARD, synWithTimestamp(HOST_B, 6000, 100_000), "the same TSval passes the server's check");
        assertEquals(1, counters.get(ConntrackCounter.TAKEN_OVER));
    }

    @Test
    void shouldTakeOverATupleTheServerHoldsInTimeWaitForASynWithANewerTimestampOrNone()
    {
        final int natPort = heldInTimeWaitByTheServer(EndpointDependence.ADDRESS_AND_PORT_DEPENDENT, 0xFFFF_FFF0L);
        assertEquals(Pipeline.FORWARD, synWithTimestamp(HOST_B, 6000, 0x10), "newer across the wrap");
        assertEquals(1, counters.get(ConntrackCounter.TAKEN_OVER));

        final int natPortB = FlowTuple.dstPort(table.tuplePorts(entry(HOST_B), ConntrackTable.REPLY));
        in(natPortB, SYN | ACK, SERVER_ISN, 6001);
        out(HOST_B, ACK, 6001, 0);
        closedByServer(HOST_B, natPortB, 7000, 500_000);
        assertEquals(Pipeline.FORWARD, process(builder.tcp(0, HOST_A, PORT, SERVER, 443, SYN, 9000, 0, 0)),
            "a SYN without timestamps: PAWS does not apply");
        assertEquals(2, counters.get(ConntrackCounter.TAKEN_OVER));
        assertEquals(0, counters.get(ConntrackCounter.TAKE_OVER_REFUSED_TIMESTAMP));
    }

    @Test
    void shouldDecideATakeOverAsTheServerInTimeWaitDoesBySequenceOrTimestamp()
    {
        heldInTimeWaitByTheServer(EndpointDependence.ADDRESS_AND_PORT_DEPENDENT, 100_000);

        assertEquals(DropReason.POOL_EXHAUSTED.id(), synWithTimestamp(HOST_B, 4000, 100_000),
            "the same TSval and a sequence before the end: neither is past what the server has");
        assertEquals(1, counters.get(ConntrackCounter.TAKE_OVER_REFUSED));
        assertEquals(Pipeline.FORWARD, synWithTimestamp(HOST_B, 4000, 100_001),
            "a sequence before the end, but a newer TSval: tcp_timewait_state_process takes it");
        assertEquals(1, counters.get(ConntrackCounter.TAKEN_OVER));
        assertEquals(0, counters.get(ConntrackCounter.TAKE_OVER_REFUSED_TIMESTAMP));
    }

    @Test
    void shouldGiveANewMappingThePortOfATupleTheServerHoldsInTimeWaitOnlyForASynNotOlderByItsTimestamp()
    {
        final int natPort = heldInTimeWaitByTheServer(EndpointDependence.ENDPOINT_INDEPENDENT, 100_000);
        assertEquals(0, table.countMappings(), "TIME_WAIT gave the mapping back");

        assertEquals(DropReason.POOL_EXHAUSTED.id(), synWithTimestamp(HOST_B, 6000, 99_999));
        assertEquals(1, counters.get(ConntrackCounter.TAKE_OVER_REFUSED_TIMESTAMP));
        assertEquals(0, counters.get(ConntrackCounter.TAKEN_OVER));
        assertEquals(0, table.countMappings());

        assertEquals(Pipeline.FORWARD, synWithTimestamp(HOST_B, 6000, 100_001));
        assertEquals(natPort, tcp.srcPort());
        assertEquals(1, counters.get(ConntrackCounter.TAKEN_OVER));
        assertEquals(1, table.countMappings());
    }

    @ParameterizedTest
    @EnumSource(value = EndpointDependence.class, names = {"ADDRESS_AND_PORT_DEPENDENT", "ENDPOINT_INDEPENDENT"})
    void shouldGiveAReopenedConnectionItsOwnNatPortBack(final EndpointDependence mapping)
    {
        pipeline = pipeline(1024, 2047, mapping);
        final int natPort = establish(HOST_A, 1000);
        closedByServer(HOST_A, natPort, 5000, 100_000);

        // the host reuses its own 4-tuple: its sequence and timestamps go on there, so the server in TIME_WAIT takes the
        // SYN on the same 4-tuple; on another port of the 1,024 it would be a take-over, the freed one anybody's
        assertEquals(natPort, natPortOfSyn(HOST_A, 9000, 200_000));
        assertEquals(1, counters.get(ConntrackCounter.REOPENED));
        assertEquals(TcpState.SYN_SENT, tcpState(HOST_A));
    }

    private int natPortOfSyn(final int host, final int seq, final long tsval)
    {
        assertEquals(Pipeline.FORWARD, synWithTimestamp(host, seq, tsval));
        ip.wrap(buffer, 0);
        tcp.wrap(buffer, ip.payloadOffset());
        return tcp.srcPort();
    }

    @Test
    void shouldTakeOverByTheKernelsRuleAloneWithAKernelStrategy()
    {
        pipeline = pipeline(PortStrategy.KERNEL, 1024, 1024, EndpointDependence.ADDRESS_AND_PORT_DEPENDENT);
        final int natPort = establish(HOST_A, 1000);
        closedByServer(HOST_A, natPort, 5000, 100_000);
        assertEquals(Pipeline.FORWARD, synWithTimestamp(HOST_B, 6000, 1), "as nf_nat_used_tuple_harder: the sequence only");
        assertEquals(1, counters.get(ConntrackCounter.TAKEN_OVER));
        assertEquals(0, counters.get(ConntrackCounter.TAKE_OVER_REFUSED_TIMESTAMP));
    }

    @Test
    void shouldGiveANewMappingThePortOfATimeWaitConnectionOnlyForASynPastItsEnd()
    {
        pipeline = pipeline(1024, 1024, EndpointDependence.ENDPOINT_INDEPENDENT);
        final int natPort = establish(HOST_A, 1000);
        closeAt(HOST_A, natPort, 5000);
        assertEquals(0, table.countMappings(), "TIME_WAIT gave the mapping back");

        assertEquals(DropReason.POOL_EXHAUSTED.id(), process(builder.tcp(0, HOST_B, PORT, SERVER, 443, SYN, 4000, 0, 0)));
        assertEquals(0, counters.get(ConntrackCounter.TAKEN_OVER));
        assertEquals(0, table.countMappings());

        assertEquals(natPort, out(HOST_B, SYN, 6000, 0));
        assertEquals(1, counters.get(ConntrackCounter.TAKEN_OVER));
        assertEquals(1, table.countMappings());
        assertEquals(TcpState.SYN_SENT, tcpState(HOST_B));
    }
}
