package natgw.core.pipeline;

import java.util.List;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import natgw.core.conntrack.ConntrackCounter;
import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.StatusDescriptor;
import natgw.core.conntrack.Timeouts;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.nat.Cidr;
import natgw.core.nat.EndpointDependence;
import natgw.core.nat.NatAllocator;
import natgw.core.nat.PortStrategy;
import natgw.core.nat.SnatPolicy;
import natgw.core.packet.DropReason;
import natgw.core.packet.IcmpHeader;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.PacketBuilder;
import natgw.core.packet.TcpHeader;
import natgw.core.packet.UdpHeader;

import static natgw.core.flow.FlowTuple.parseAddress;
import static natgw.core.packet.TcpHeader.ACK;
import static natgw.core.packet.TcpHeader.RST;
import static natgw.core.packet.TcpHeader.SYN;
import static natgw.core.testing.PacketAssertions.assertChecksumsValid;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Packets to the pool with endpoint-independent mapping: hairpinning from inside, each filtering behaviour from
 * outside.
 * <pre>
 *   A 10.77.1.2, B 10.77.1.3 --[pool 198.51.100.1]-- server 203.0.113.9, other server 203.0.113.10
 * </pre>
 */
class PipelineMappingTest
{
    private static final int HOST_A = parseAddress("10.77.1.2");
    private static final int HOST_B = parseAddress("10.77.1.3");
    private static final int HOST_C = parseAddress("10.77.1.4");
    private static final int POOL = parseAddress("198.51.100.1");
    private static final int SERVER = parseAddress("203.0.113.9");
    private static final int OTHER_SERVER = parseAddress("203.0.113.10");

    private ConntrackTable table = new ConntrackTable(1024, 0);
    private final WorkerCounters counters = new WorkerCounters(0);
    private final SnatPolicy snat = new SnatPolicy(List.of(Cidr.parse("10.77.1.0/24")), new int[]{ POOL }, 1024, 65535);
    private final PacketBuilder builder = new PacketBuilder();
    private final UnsafeBuffer buffer = builder.buffer();
    private final Ipv4Header ip = new Ipv4Header();
    private final UdpHeader udp = new UdpHeader();
    private final TcpHeader tcp = new TcpHeader();
    private Pipeline pipeline = pipeline(EndpointDependence.ENDPOINT_INDEPENDENT);
    private long nowNs = 1_000_000_000L;

    private Pipeline pipeline(final EndpointDependence mapping)
    {
        return pipeline(mapping, 1);
    }

    /** With {@code queues} above 1, the port searches aim replies at queue 0 of that many (a gateway's steering by ports). */
    private Pipeline pipeline(final EndpointDependence mapping, final int queues)
    {
        return new Pipeline(table, new NatAllocator(table, PortStrategy.RESERVE, counters, 0, true, 42, mapping).steeredQueues(queues, 0),
            snat, new Timeouts(), counters, true);
    }

    private int process(final int length)
    {
        nowNs += 1_000_000L;
        return pipeline.process(buffer, 0, length, nowNs);
    }

    /** Sends the packet built at 0, asserts it forwarded with valid checksums, and wraps the flyweights on it. */
    private void forward(final int length)
    {
        final int verdict = process(length);
        assertEquals(Pipeline.FORWARD, verdict, () -> "dropped: " + DropReason.get(verdict));
        assertChecksumsValid(buffer, 0, length);
        ip.wrap(buffer, 0);
        udp.wrap(buffer, ip.payloadOffset());
        tcp.wrap(buffer, ip.payloadOffset());
    }

    /** Sends the packet built at 0 and asserts natgw answered it in its buffer: the answer's checksums are valid. */
    private void answered(final int length)
    {
        final int verdict = process(length);
        assertEquals(Pipeline.FORWARD, verdict, () -> "dropped: " + DropReason.get(verdict));
        ip.wrap(buffer, 0);
        assertChecksumsValid(buffer, 0, ip.totalLength());
        tcp.wrap(buffer, ip.payloadOffset());
    }

    private void assertUdp(final int src, final int srcPort, final int dst, final int dstPort)
    {
        assertEquals(src, ip.srcAddress(), "source");
        assertEquals(srcPort, udp.srcPort(), "source port");
        assertEquals(dst, ip.dstAddress(), "destination");
        assertEquals(dstPort, udp.dstPort(), "destination port");
    }

    private void assertTcp(final int src, final int srcPort, final int dst, final int dstPort)
    {
        assertEquals(src, ip.srcAddress(), "source");
        assertEquals(srcPort, tcp.srcPort(), "source port");
        assertEquals(dst, ip.dstAddress(), "destination");
        assertEquals(dstPort, tcp.dstPort(), "destination port");
    }

    /** Host sends UDP from {@code port} to the server; returns the external port it got. */
    private int udpOut(final int host, final int port, final int server)
    {
        forward(builder.udp(0, host, port, server, 3478, 16));
        assertEquals(POOL, ip.srcAddress());
        return udp.srcPort();
    }

    @Test
    void shouldHairpinUdpWithTheSendersOwnMappingAsSource()
    {
        udpOut(HOST_C, 6000, SERVER);                  // C takes port 6000: A's mapping gets another
        final int external = udpOut(HOST_A, 6000, SERVER);
        assertNotEquals(6000, external);
        assertEquals(5000, udpOut(HOST_B, 5000, SERVER));

        forward(builder.udp(0, HOST_A, 6000, POOL, 5000, 16));
        assertUdp(POOL, external, HOST_B, 5000);
        forward(builder.udp(0, HOST_B, 5000, POOL, external, 16));
        assertUdp(POOL, 5000, HOST_A, 6000);

        assertEquals(1, counters.get(ConntrackCounter.HAIRPINNED));
        assertEquals(3, table.countMappings(), "the hairpin took no mapping of its own");
    }

    @Test
    void shouldHairpinTcpBothWays()
    {
        forward(builder.tcp(0, HOST_B, 8080, SERVER, 443, SYN, 1, 0, 0));
        assertEquals(8080, tcp.srcPort());

        forward(builder.tcp(0, HOST_A, 40000, POOL, 8080, SYN, 100, 0, 0));
        assertTcp(POOL, 40000, HOST_B, 8080);
        forward(builder.tcp(0, HOST_B, 8080, POOL, 40000, SYN | ACK, 500, 101, 0));
        assertTcp(POOL, 8080, HOST_A, 40000);
        forward(builder.tcp(0, HOST_A, 40000, POOL, 8080, ACK, 101, 501, 0));
        assertTcp(POOL, 40000, HOST_B, 8080);
        assertEquals(1, counters.get(ConntrackCounter.HAIRPINNED));
    }

    @Test
    void shouldFilterAnUnsolicitedPacketToALiveMappingByDefault()
    {
        final int external = udpOut(HOST_A, 6000, SERVER);

        assertEquals(DropReason.FILTERED.id(), process(builder.udp(0, OTHER_SERVER, 3478, POOL, external, 16)));
        assertEquals(DropReason.FILTERED.id(), process(builder.udp(0, SERVER, 9999, POOL, external, 16)), "another port of the server");
        assertEquals(DropReason.NO_MAPPING.id(), process(builder.udp(0, SERVER, 3478, POOL, external + 1, 16)));
        forward(builder.udp(0, SERVER, 3478, POOL, external, 16));
        assertUdp(SERVER, 3478, HOST_A, 6000);
        assertEquals(2, counters.get(DropReason.FILTERED));
    }

    @Test
    void shouldDeliverAnyOutsideEndpointToALiveMappingWithEndpointIndependentFiltering()
    {
        pipeline.filtering(EndpointDependence.ENDPOINT_INDEPENDENT);
        final int external = udpOut(HOST_A, 6000, SERVER);

        forward(builder.udp(0, OTHER_SERVER, 9999, POOL, external, 16));
        assertUdp(OTHER_SERVER, 9999, HOST_A, 6000);
        forward(builder.udp(0, HOST_A, 6000, OTHER_SERVER, 9999, 16));
        assertUdp(POOL, external, OTHER_SERVER, 9999);
        assertEquals(1, counters.get(ConntrackCounter.ACCEPTED_INBOUND));
        assertEquals(1, table.countMappings());

        // once the mapping's connections are gone, so is the mapping: nothing reaches A any more
        for (int entry = 0; entry < table.capacity(); entry++)
        {
            table.kill(new ConntrackTable.Cursor(), entry, table.status(entry));
        }
        assertEquals(0, table.countInUse());
        assertEquals(0, table.countMappings());
        assertEquals(DropReason.NO_MAPPING.id(), process(builder.udp(0, OTHER_SERVER, 9999, POOL, external, 16)));
    }

    @Test
    void shouldDeliverOnlyAddressesTheEndpointTalksToWithAddressDependentFiltering()
    {
        table = new ConntrackTable(16, 0);
        table.permissions(true);
        pipeline = pipeline(EndpointDependence.ENDPOINT_INDEPENDENT).filtering(EndpointDependence.ADDRESS_DEPENDENT);
        final int external = udpOut(HOST_A, 6000, SERVER);

        forward(builder.udp(0, SERVER, 9999, POOL, external, 16));
        assertUdp(SERVER, 9999, HOST_A, 6000);
        assertEquals(DropReason.FILTERED.id(), process(builder.udp(0, OTHER_SERVER, 3478, POOL, external, 16)));
        assertEquals(external, udpOut(HOST_A, 6000, OTHER_SERVER));
        forward(builder.udp(0, OTHER_SERVER, 7777, POOL, external, 16));
        assertUdp(OTHER_SERVER, 7777, HOST_A, 6000);
        assertEquals(2, counters.get(ConntrackCounter.ACCEPTED_INBOUND));
        assertEquals(1, counters.get(DropReason.FILTERED));
        assertEquals(1, table.countMappings());
        assertEquals(4, table.countInUse());

        // the connections end: their permissions, then the mapping, go with them; every entry is free again
        for (int entry = 0; entry < table.capacity(); entry++)
        {
            table.kill(new ConntrackTable.Cursor(), entry, table.status(entry));
        }
        for (int i = 0; i < table.capacity(); i++)
        {
            assertNotEquals(-1, table.allocate(), "entry " + i + " of " + table.capacity() + " free");
        }
    }

    @Test
    void shouldAnswerWhatTheFilteringRefusesWhenToldToReject()
    {
        pipeline.rejectFiltered(true);
        final int external = udpOut(HOST_A, 6000, SERVER);
        forward(builder.tcp(0, HOST_A, 40000, SERVER, 443, SYN, 1, 0, 0));
        final int tcpExternal = tcp.srcPort();

        answered(builder.udp(0, OTHER_SERVER, 3478, POOL, external, 16));
        assertEquals(Ipv4Header.PROTO_ICMP, ip.protocol());
        assertEquals(POOL, ip.srcAddress(), "from the address the sender tried");
        assertEquals(OTHER_SERVER, ip.dstAddress());
        final IcmpHeader icmp = new IcmpHeader().wrap(buffer, ip.payloadOffset());
        assertEquals(IcmpHeader.DEST_UNREACHABLE, icmp.type());
        assertEquals(IcmpHeader.CODE_ADMIN_PROHIBITED, icmp.code());

        answered(builder.tcp(0, OTHER_SERVER, 5555, POOL, tcpExternal, SYN, 77, 0, 0));
        assertTcp(POOL, tcpExternal, OTHER_SERVER, 5555);
        assertTrue((tcp.flags() & RST) != 0, "a refused SYN is reset");

        assertEquals(DropReason.FILTERED.id(), process(builder.tcp(0, OTHER_SERVER, 5555, POOL, tcpExternal, RST, 78, 0, 0)),
            "an RST is never answered");
        assertEquals(3, counters.get(DropReason.FILTERED), "every refused packet counted, answered or not");
        assertEquals(0, counters.get(ConntrackCounter.ACCEPTED_INBOUND));
    }

    @Test
    void shouldRefuseAddressDependentFilteringWithoutPermissions()
    {
        assertThrows(IllegalArgumentException.class, () -> pipeline.filtering(EndpointDependence.ADDRESS_DEPENDENT));
    }

    @Test
    void shouldOpenAnInboundTcpConnectionOnlyFromASyn()
    {
        pipeline.filtering(EndpointDependence.ENDPOINT_INDEPENDENT);
        forward(builder.tcp(0, HOST_A, 40000, SERVER, 443, SYN, 1, 0, 0));

        assertEquals(DropReason.TCP_INVALID_NEW.id(), process(builder.tcp(0, OTHER_SERVER, 5555, POOL, 40000, ACK, 1, 1, 0)));
        forward(builder.tcp(0, OTHER_SERVER, 5555, POOL, 40000, SYN, 9, 0, 0));
        assertTcp(OTHER_SERVER, 5555, HOST_A, 40000);
        forward(builder.tcp(0, HOST_A, 40000, OTHER_SERVER, 5555, SYN | ACK, 70, 10, 0));
        assertTcp(POOL, 40000, OTHER_SERVER, 5555);
        assertEquals((StatusDescriptor.DST_NAT | StatusDescriptor.MAPPED),
            cursorStatus(OTHER_SERVER, 5555) & (StatusDescriptor.DST_NAT | StatusDescriptor.SRC_NAT | StatusDescriptor.MAPPED));
    }

    @Test
    void shouldGiveTheMappingBackWhenItsTcpConnectionEnds()
    {
        forward(builder.tcp(0, HOST_A, 40000, SERVER, 443, SYN, 1, 0, 0));
        forward(builder.tcp(0, SERVER, 443, POOL, 40000, SYN | ACK, 9, 2, 0));
        forward(builder.tcp(0, HOST_A, 40000, SERVER, 443, ACK, 2, 10, 0));
        forward(builder.tcp(0, HOST_A, 40000, SERVER, 443, TcpHeader.FIN | ACK, 2, 10, 0));
        forward(builder.tcp(0, SERVER, 443, POOL, 40000, TcpHeader.FIN | ACK, 10, 3, 0));
        assertEquals(1, table.countMappings());
        forward(builder.tcp(0, HOST_A, 40000, SERVER, 443, ACK, 3, 11, 0));

        assertEquals(0, table.countMappings(), "TIME_WAIT: the mapping went back");
        assertEquals(1, table.countInUse(), "the connection waits out its timer");
        // another host's SYN from the same port to the same server: not the 4-tuple the server may hold in TIME_WAIT
        forward(builder.tcp(0, HOST_B, 40000, SERVER, 443, SYN, 1, 0, 0));
        assertNotEquals(40000, tcp.srcPort());
        assertEquals(0, counters.get(ConntrackCounter.TAKEN_OVER));
        // to another server the port is free again
        forward(builder.tcp(0, HOST_C, 40000, OTHER_SERVER, 443, SYN, 1, 0, 0));
        assertTcp(POOL, 40000, OTHER_SERVER, 443);
        assertEquals(2, table.countMappings());
        assertEquals(3, table.countInUse());
    }

    @Test
    void shouldDropIcmpToThePool()
    {
        pipeline.filtering(EndpointDependence.ENDPOINT_INDEPENDENT);
        forward(builder.icmpEcho(0, HOST_A, SERVER, 8, 0x55, 1, 8));
        assertEquals(DropReason.NO_MAPPING.id(), process(builder.icmpEcho(0, OTHER_SERVER, POOL, 8, 0x55, 1, 8)));
    }

    @Test
    void shouldDropEverythingToThePoolWithAddressAndPortDependentMapping()
    {
        pipeline = pipeline(EndpointDependence.ADDRESS_AND_PORT_DEPENDENT);
        pipeline.filtering(EndpointDependence.ENDPOINT_INDEPENDENT);
        assertEquals(5000, udpOut(HOST_B, 5000, SERVER));

        assertEquals(DropReason.NO_MAPPING.id(), process(builder.udp(0, HOST_A, 6000, POOL, 5000, 16)));
        assertEquals(DropReason.NO_MAPPING.id(), process(builder.udp(0, OTHER_SERVER, 3478, POOL, 5000, 16)));
        assertEquals(0, table.countMappings());
    }

    @Test
    void shouldAllocateNothingForNewConnectionsOnMappingsOnceWarm()
    {
        pipeline = pipeline(EndpointDependence.ENDPOINT_INDEPENDENT, 2); // searches aimed at a queue, as a gateway's
        assertAllocatesNothingForNewConnections();
    }

    @Test
    void shouldAllocateNothingForNewConnectionsWithFlowSteeringHints()
    {
        final natgw.core.nat.KeptPortHints hints =
            new natgw.core.nat.KeptPortHints(new org.agrona.concurrent.UnsafeBuffer(new byte[natgw.core.nat.KeptPortHints.SLOTS]));
        pipeline = new Pipeline(table, new NatAllocator(table, PortStrategy.RESERVE, counters, 0, true, 42,
            EndpointDependence.ENDPOINT_INDEPENDENT).steeredQueues(2, 0).flowSteering(hints), snat, new Timeouts(), counters, true);
        assertAllocatesNothingForNewConnections();
        assertTrue(hints.kept(HOST_A, 10_000), "hints written: the first mapping of an endpoint keeps its port");
    }

    private void assertAllocatesNothingForNewConnections()
    {
        pipeline.filtering(EndpointDependence.ENDPOINT_INDEPENDENT);
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)java.lang.management.ManagementFactory.getThreadMXBean();
        final long threadId = Thread.currentThread().getId();
        newConnections(100_000);
        long allocated = Long.MAX_VALUE;
        for (int round = 0; round < 3; round++) // the least of three: the JIT and runtime may allocate once in a round
        {
            final long before = threads.getThreadAllocatedBytes(threadId);
            newConnections(100_000);
            allocated = Math.min(allocated, threads.getThreadAllocatedBytes(threadId) - before);
        }
        assertTrue(allocated < 2048, allocated + " bytes allocated over 100,000 rounds of new connections");
        assertTrue(counters.get(ConntrackCounter.HAIRPINNED) > 0 && counters.get(ConntrackCounter.ACCEPTED_INBOUND) > 0);
    }

    /** Rounds of first packets: out to one of four servers (a mapping made or reused), a hairpin, an inbound one. */
    private void newConnections(final int rounds)
    {
        final ConntrackTable.Cursor killer = new ConntrackTable.Cursor();
        for (int r = 0; r < rounds; r++)
        {
            final int host = HOST_A + (r & 63);
            final int port = 10_000 + (r >> 6 & 255);
            final int verdict = process(builder.udp(0, host, port, SERVER + (r & 3), 3478, 16));
            if (verdict == Pipeline.FORWARD && (r & 7) == 0)
            {
                final int external = builder.buffer().getShort(20, java.nio.ByteOrder.BIG_ENDIAN) & 0xFFFF;
                process(builder.udp(0, HOST_B, 7000 + (r & 15), POOL, external, 16));
                process(builder.udp(0, OTHER_SERVER, 9000 + (r & 15), POOL, external, 16));
            }
            if ((r & 511) == 511)
            {
                for (int entry = 0; entry < table.capacity(); entry++)
                {
                    table.kill(killer, entry, table.status(entry));
                }
            }
        }
    }

    private int cursorStatus(final int server, final int serverPort)
    {
        final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
        table.lookup(cursor, natgw.core.flow.FlowTuple.packAddresses(server, POOL),
            natgw.core.flow.FlowTuple.packPorts(Ipv4Header.PROTO_TCP, serverPort, 40000));
        return cursor.status();
    }
}
