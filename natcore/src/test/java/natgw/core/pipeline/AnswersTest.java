package natgw.core.pipeline;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import natgw.core.packet.IcmpHeader;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.PacketBuilder;
import natgw.core.packet.TcpHeader;
import natgw.core.testing.ReferenceChecksum;

import static natgw.core.flow.FlowTuple.parseAddress;
import static natgw.core.packet.TcpHeader.ACK;
import static natgw.core.packet.TcpHeader.FIN;
import static natgw.core.packet.TcpHeader.PSH;
import static natgw.core.packet.TcpHeader.RST;
import static natgw.core.packet.TcpHeader.SYN;
import static natgw.core.testing.PacketAssertions.assertChecksumsValid;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The answers the gateway sends instead of forwarding: every field read back and every checksum
 * recomputed in full by the independent {@link ReferenceChecksum}.
 */
class AnswersTest
{
    private static final int CLIENT = parseAddress("203.0.113.9");
    private static final int VIP = parseAddress("10.96.0.10");
    private static final int AT = 100;

    private final PacketBuilder builder = new PacketBuilder();
    private final UnsafeBuffer buffer = builder.buffer();
    private final Ipv4Header ip = new Ipv4Header();
    private final TcpHeader tcp = new TcpHeader();
    private final IcmpHeader icmp = new IcmpHeader();

    private int reset(final int length)
    {
        ip.wrap(buffer, AT);
        tcp.wrap(buffer, AT + ip.headerLength());
        final int out = Answers.tcpReset(buffer, AT, ip.headerLength(), ip.totalLength(), ip, tcp);
        assertChecksumsValid(buffer, AT, out);
        ip.wrap(buffer, AT);
        tcp.wrap(buffer, AT + ip.headerLength());
        return out;
    }

    private void assertReplyHeader(final int length, final int protocol)
    {
        assertEquals(4, ip.version());
        assertEquals(Ipv4Header.MIN_LENGTH, ip.headerLength(), "no options in an answer");
        assertEquals(length, ip.totalLength());
        assertEquals(protocol, ip.protocol());
        assertEquals(64, ip.ttl());
        assertEquals(Ipv4Header.FLAG_DF, ip.flagsAndFragmentOffset());
        assertEquals(0, ip.tos());
        assertEquals(VIP, ip.srcAddress(), "from the address the client spoke to");
        assertEquals(CLIENT, ip.dstAddress());
    }

    private void assertTcp(final int seq, final int ack, final int flags)
    {
        assertEquals(80, tcp.srcPort());
        assertEquals(40001, tcp.dstPort());
        assertEquals(seq, tcp.sequence());
        assertEquals(ack, tcp.ack());
        assertEquals(flags, tcp.flags());
        assertEquals(TcpHeader.MIN_LENGTH, tcp.headerLength());
        assertEquals(0, tcp.window());
        assertEquals(0, buffer.getShort(AT + Ipv4Header.MIN_LENGTH + TcpHeader.URGENT_OFFSET));
    }

    /** Inserts 4 bytes of IP options (NOP NOP NOP EOL) into the packet at AT; returns the new length. */
    private int withIpOptions(final int length)
    {
        final byte[] packet = new byte[length];
        buffer.getBytes(AT, packet);
        buffer.putBytes(AT + 24, packet, 20, length - 20);
        buffer.putBytes(AT + 20, new byte[]{ 1, 1, 1, 0 });
        ip.wrap(buffer, AT).versionAndHeaderLength(4, 24).totalLength(length + 4).computeChecksum();
        return length + 4;
    }

    @Test
    void shouldResetASynWithRstAckAcknowledgingIt()
    {
        // RFC 9293 3.10.7.1: no ACK in the segment -> <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, SYN counts 1
        final int length = reset(builder.tcp(AT, CLIENT, 40001, VIP, 80, SYN, 0x7000_0000, 0, 0));
        assertEquals(40, length);
        assertReplyHeader(40, Ipv4Header.PROTO_TCP);
        assertTcp(0, 0x7000_0001, RST | ACK);
    }

    @Test
    void shouldResetAnAckedSegmentFromItsAckNumber()
    {
        // ACK in the segment -> <SEQ=SEG.ACK><CTL=RST>, whatever its payload
        final int length = reset(builder.tcp(AT, CLIENT, 40001, VIP, 80, ACK | PSH, 1000, 0xFFFF_FFF0, 300));
        assertEquals(40, length);
        assertReplyHeader(40, Ipv4Header.PROTO_TCP);
        assertTcp(0xFFFF_FFF0, 0, RST);
    }

    @Test
    void shouldCountPayloadAndFinInTheAckOfAReset()
    {
        reset(builder.tcp(AT, CLIENT, 40001, VIP, 80, FIN, 0xFFFF_FFFF, 0, 10));
        assertTcp(0, 0xFFFF_FFFF + 10 + 1, RST | ACK); // wraps around 2^32
    }

    @Test
    void shouldResetASegmentCarryingIpOptions()
    {
        final int length = withIpOptions(builder.tcp(AT, CLIENT, 40001, VIP, 80, SYN, 5, 0, 0));
        ip.wrap(buffer, AT);
        tcp.wrap(buffer, AT + 24);
        assertEquals(length, ip.totalLength());
        final int out = Answers.tcpReset(buffer, AT, 24, length, ip, tcp);
        assertEquals(40, out);
        assertChecksumsValid(buffer, AT, out);
        ip.wrap(buffer, AT);
        tcp.wrap(buffer, AT + 20);
        assertReplyHeader(40, Ipv4Header.PROTO_TCP);
        assertTcp(0, 6, RST | ACK);
    }

    private int unreachable(final int length, final int code)
    {
        ip.wrap(buffer, AT);
        final int out = Answers.icmpUnreachable(buffer, AT, ip.headerLength(), ip.totalLength(), code, ip, icmp);
        assertChecksumsValid(buffer, AT, out); // the ICMP message, the quoted header, and the quoted datagram if whole
        ip.wrap(buffer, AT);
        icmp.wrap(buffer, AT + Ipv4Header.MIN_LENGTH);
        return out;
    }

    @Test
    void shouldAnswerADatagramWithPortUnreachableQuotingItsHeaderAnd8Bytes()
    {
        final int sentLength = builder.udp(AT, CLIENT, 40001, VIP, 53, 64);
        final byte[] quoted = new byte[28];
        buffer.getBytes(AT, quoted);
        final int length = unreachable(sentLength, IcmpHeader.CODE_PORT_UNREACHABLE);
        assertEquals(20 + 8 + 28, length);
        assertReplyHeader(length, Ipv4Header.PROTO_ICMP);
        assertEquals(IcmpHeader.DEST_UNREACHABLE, icmp.type());
        assertEquals(IcmpHeader.CODE_PORT_UNREACHABLE, icmp.code());
        assertEquals(0, buffer.getInt(AT + 20 + 4), "the unused word is zero");
        final byte[] inside = new byte[28];
        buffer.getBytes(AT + 28, inside);
        assertArrayEquals(quoted, inside, "the datagram's IP header and first 8 bytes (ports, length, checksum), as sent");
    }

    @Test
    void shouldAnswerHostUnreachableQuotingIpOptionsToo()
    {
        final int length = withIpOptions(builder.tcp(AT, CLIENT, 40001, VIP, 80, ACK, 1, 1, 20));
        final byte[] quoted = new byte[24 + 8];
        buffer.getBytes(AT, quoted);
        final int out = unreachable(length, IcmpHeader.CODE_HOST_UNREACHABLE);
        assertEquals(20 + 8 + 32, out);
        assertReplyHeader(out, Ipv4Header.PROTO_ICMP);
        assertEquals(IcmpHeader.CODE_HOST_UNREACHABLE, icmp.code());
        final byte[] inside = new byte[32];
        buffer.getBytes(AT + 28, inside);
        assertArrayEquals(quoted, inside);
        assertEquals(ReferenceChecksum.expectedIpChecksum(inside, 0), ReferenceChecksum.field(inside, 10), "quoted header intact");
    }

    @Test
    void shouldQuoteAWholeShortPacket()
    {
        // a datagram with no payload is 28 bytes: all of it is quoted, and its checksum is checked too
        final int sentLength = builder.udp(AT, CLIENT, 40001, VIP, 53, 0);
        assertEquals(28, sentLength);
        final int out = unreachable(sentLength, IcmpHeader.CODE_PORT_UNREACHABLE);
        assertEquals(56, out);
    }
}
