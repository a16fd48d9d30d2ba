package natgw.core.packet;

import java.nio.ByteOrder;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import natgw.core.testing.CapturedPacket;
import natgw.core.testing.ReferenceChecksum;

import static natgw.core.flow.FlowTuple.parseAddress;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Expected values are what tcpdump -vv printed for each captured packet (see the fixture's comments). */
class UdpHeaderTest
{
    private static final int CLIENT = parseAddress("10.201.1.2");
    private static final int SERVER = parseAddress("10.201.2.2");

    private final UdpHeader udp = new UdpHeader();

    @Test
    void shouldReadCapturedDatagram()
    {
        // 10.201.1.2.40002 > 10.201.2.2.5353: [udp sum ok], 10 bytes "dns-query\n"
        final UnsafeBuffer buffer = CapturedPacket.buffer("udp-datagram");
        udp.wrap(buffer, 20);
        assertEquals(40002, udp.srcPort());
        assertEquals(5353, udp.dstPort());
        assertEquals(18, udp.length());
        assertEquals(0x0e7b, udp.checksum());
        assertEquals("dns-query\n", buffer.getStringWithoutLengthAscii(28, 10));
        assertTrue(udp.isChecksumValid(CLIENT, SERVER));
    }

    @Test
    void shouldReadQuotedDatagramInsideCapturedPortUnreachable()
    {
        udp.wrap(CapturedPacket.buffer("icmp-port-unreachable"), 20 + 8 + 20);
        assertEquals(40002, udp.srcPort());
        assertEquals(5353, udp.dstPort());
        assertEquals(18, udp.length());
        assertTrue(udp.isChecksumValid(CLIENT, SERVER));
    }

    @Test
    void shouldReadTruncatedQuoteInsideCapturedFragmentationNeeded()
    {
        // quoted: 10.201.1.2.40004 > 10.201.2.3.9999: UDP, length 1400 (only the first 548 bytes quoted)
        udp.wrap(CapturedPacket.buffer("icmp-frag-needed"), 20 + 8 + 20);
        assertEquals(40004, udp.srcPort());
        assertEquals(9999, udp.dstPort());
        assertEquals(1408, udp.length());
    }

    @Test
    void shouldRebuildCapturedDatagramByteForByteWithSetters()
    {
        final byte[] captured = CapturedPacket.bytes("udp-datagram");
        final UnsafeBuffer rebuilt = new UnsafeBuffer(new byte[18]);
        rebuilt.putBytes(8, captured, 28, 10);
        udp.wrap(rebuilt, 0).srcPort(40002).dstPort(5353).length(18).checksum(0x1234).computeChecksum(CLIENT, SERVER);
        final byte[] datagram = new byte[18];
        System.arraycopy(captured, 20, datagram, 0, 18);
        assertArrayEquals(datagram, rebuilt.byteArray());
    }

    @Test
    void shouldAcceptAbsentChecksum()
    {
        final UnsafeBuffer buffer = CapturedPacket.buffer("udp-datagram");
        udp.wrap(buffer, 20).checksum(0);
        assertTrue(udp.isChecksumValid(CLIENT, SERVER));
        assertTrue(udp.isChecksumValid(CLIENT + 1, SERVER));
    }

    @Test
    void shouldDetectCorruptedDatagram()
    {
        final UnsafeBuffer buffer = CapturedPacket.buffer("udp-datagram");
        udp.wrap(buffer, 20);
        assertFalse(udp.isChecksumValid(CLIENT, SERVER + 1));
        buffer.putByte(30, (byte)'X');
        assertFalse(udp.isChecksumValid(CLIENT, SERVER));
    }

    @Test
    void shouldSendComputedZeroAsAllOnes()
    {
        // find a payload word that makes the one's complement sum 0xFFFF, so the computed checksum is 0
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[10]);
        udp.wrap(buffer, 0).srcPort(1).dstPort(2).length(10);
        final int src = parseAddress("192.0.2.1");
        final int dst = parseAddress("192.0.2.2");
        udp.computeChecksum(src, dst);
        final int word = udp.checksum(); // with payload 0, the checksum is ~sum, so a payload of that word sums to 0xFFFF
        buffer.putShort(8, (short)word, ByteOrder.BIG_ENDIAN);
        udp.computeChecksum(src, dst);
        assertEquals(0xFFFF, udp.checksum());
        assertTrue(udp.isChecksumValid(src, dst));
        assertEquals(0xFFFF, ReferenceChecksum.expectedL4Checksum(ipv4Around(buffer, src, dst), 0));
    }

    private static byte[] ipv4Around(final UnsafeBuffer udpBuffer, final int src, final int dst)
    {
        final UnsafeBuffer packet = new UnsafeBuffer(new byte[20 + udpBuffer.capacity()]);
        new Ipv4Header().wrap(packet, 0).versionAndHeaderLength(4, 20).totalLength(packet.capacity()).ttl(64)
            .protocol(Ipv4Header.PROTO_UDP).srcAddress(src).dstAddress(dst).computeChecksum();
        packet.putBytes(20, udpBuffer, 0, udpBuffer.capacity());
        return packet.byteArray();
    }

    @Test
    void shouldDecodeTheHeaderWordAsTheFlyweightReadsFields()
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[UdpHeader.LENGTH]);
        final UdpHeader udp = new UdpHeader().wrap(buffer, 0);
        udp.srcPort(53).dstPort(40_000).length(38).checksum(0xBEEF);
        final long header = buffer.getLong(0, ByteOrder.BIG_ENDIAN);
        assertEquals(53, UdpHeader.srcPortOf(header));
        assertEquals(40_000, UdpHeader.dstPortOf(header));
        assertEquals(38, UdpHeader.lengthOf(header));
        assertEquals(0xBEEF, UdpHeader.checksumOf(header));
    }
}
