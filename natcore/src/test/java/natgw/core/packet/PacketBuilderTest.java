package natgw.core.packet;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static natgw.core.flow.FlowTuple.parseAddress;
import static natgw.core.testing.PacketAssertions.assertChecksumsValid;
import static org.junit.jupiter.api.Assertions.assertEquals;

class PacketBuilderTest
{
    private static final int SRC = parseAddress("10.0.0.2");
    private static final int DST = parseAddress("203.0.113.9");

    private final PacketBuilder builder = new PacketBuilder();
    private final UnsafeBuffer buffer = builder.buffer();
    private final Ipv4Header ip = new Ipv4Header();

    @Test
    void shouldBuildTcpSegmentWithValidChecksums()
    {
        final int length = builder.tcp(5, SRC, 40001, DST, 443, TcpHeader.SYN | TcpHeader.ACK, 7, 8, 3);
        assertEquals(43, length);
        assertChecksumsValid(buffer, 5, length);
        ip.wrap(buffer, 5);
        assertEquals(4, ip.version());
        assertEquals(20, ip.headerLength());
        assertEquals(length, ip.totalLength());
        assertEquals(Ipv4Header.FLAG_DF, ip.flagsAndFragmentOffset());
        assertEquals(64, ip.ttl());
        assertEquals(Ipv4Header.PROTO_TCP, ip.protocol());
        assertEquals(SRC, ip.srcAddress());
        assertEquals(DST, ip.dstAddress());
        final TcpHeader tcp = new TcpHeader().wrap(buffer, 25);
        assertEquals(40001, tcp.srcPort());
        assertEquals(443, tcp.dstPort());
        assertEquals(7, tcp.sequence());
        assertEquals(8, tcp.ack());
        assertEquals(TcpHeader.SYN | TcpHeader.ACK, tcp.flags());
        assertEquals(20, tcp.headerLength());
        assertEquals(65535, tcp.window());
        assertEquals("abc", buffer.getStringWithoutLengthAscii(45, 3));
    }

    @Test
    void shouldBuildUdpDatagramWithValidChecksums()
    {
        final int length = builder.udp(0, SRC, 5353, DST, 53, 27);
        assertEquals(55, length);
        assertChecksumsValid(buffer, 0, length);
        final UdpHeader udp = new UdpHeader().wrap(buffer, 20);
        assertEquals(5353, udp.srcPort());
        assertEquals(53, udp.dstPort());
        assertEquals(35, udp.length());
        assertEquals("abcdefghijklmnopqrstuvwxyza", buffer.getStringWithoutLengthAscii(28, 27));
    }

    @Test
    void shouldBuildEchoAndErrorQuotingAnotherPacket()
    {
        final int echo = builder.icmpEcho(1000, SRC, DST, IcmpHeader.ECHO_REQUEST, 0x1234, 9, 5);
        assertChecksumsValid(buffer, 1000, echo);
        final IcmpHeader icmp = new IcmpHeader().wrap(buffer, 1020);
        assertEquals(IcmpHeader.ECHO_REQUEST, icmp.type());
        assertEquals(0x1234, icmp.identifier());
        assertEquals(9, icmp.sequence());

        final int error = builder.icmpError(0, DST, SRC, IcmpHeader.TIME_EXCEEDED, 0, 1000, echo);
        assertEquals(28 + echo, error);
        assertChecksumsValid(buffer, 0, error);
        assertEquals(IcmpHeader.TIME_EXCEEDED, icmp.wrap(buffer, 20).type());
        for (int i = 0; i < echo; i++)
        {
            assertEquals(buffer.getByte(1000 + i), buffer.getByte(28 + i), "quoted byte " + i);
        }
    }

    @Test
    void shouldNumberPacketsAndApplyTtl()
    {
        builder.udp(0, SRC, 1, DST, 2, 0);
        final int first = ip.wrap(buffer, 0).identification();
        builder.ttl(1).udp(0, SRC, 1, DST, 2, 0);
        assertEquals(first + 1, ip.identification());
        assertEquals(1, ip.ttl());
        assertChecksumsValid(buffer, 0, 28);
    }
}
