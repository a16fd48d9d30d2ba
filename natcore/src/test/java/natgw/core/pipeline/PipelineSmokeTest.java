package natgw.core.pipeline;

import java.util.List;

import org.junit.jupiter.api.Test;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.Timeouts;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.core.nat.Cidr;
import natgw.core.nat.NatAllocator;
import natgw.core.nat.PortStrategy;
import natgw.core.nat.SnatPolicy;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.PacketBuilder;
import natgw.core.packet.UdpHeader;

import static org.junit.jupiter.api.Assertions.assertEquals;

class PipelineSmokeTest
{
    @Test
    void shouldTranslateUdpOutAndBack()
    {
        final ConntrackTable table = new ConntrackTable(1024, 0);
        final WorkerCounters counters = new WorkerCounters(0);
        final SnatPolicy snat = new SnatPolicy(List.of(Cidr.parse("10.77.1.0/24")),
            new int[]{ FlowTuple.parseAddress("10.77.2.100") }, 1024, 65535);
        final Pipeline pipeline = new Pipeline(table,
            new NatAllocator(table, PortStrategy.RESERVE, counters, 0, true, 42), snat, new Timeouts(), counters, true);
        final PacketBuilder pb = new PacketBuilder();
        final int client = FlowTuple.parseAddress("10.77.1.2");
        final int server = FlowTuple.parseAddress("10.77.2.2");
        int len = pb.udp(0, client, 5000, server, 53, 10);
        assertEquals(Pipeline.FORWARD, pipeline.process(pb.buffer(), 0, len, 1_000_000));
        final Ipv4Header ip = new Ipv4Header().wrap(pb.buffer(), 0);
        assertEquals(FlowTuple.parseAddress("10.77.2.100"), ip.srcAddress());
        final UdpHeader udp = new UdpHeader().wrap(pb.buffer(), 20);
        assertEquals(5000, udp.srcPort());
        assertEquals(true, ip.isChecksumValid());
        assertEquals(true, udp.isChecksumValid(ip.srcAddress(), ip.dstAddress()));

        len = pb.udp(0, server, 53, FlowTuple.parseAddress("10.77.2.100"), 5000, 10);
        assertEquals(Pipeline.FORWARD, pipeline.process(pb.buffer(), 0, len, 2_000_000));
        assertEquals(client, ip.dstAddress());
        assertEquals(true, udp.isChecksumValid(ip.srcAddress(), ip.dstAddress()));
        assertEquals(true, ip.isChecksumValid());
        System.out.println(counters.statsLine());
    }
}
