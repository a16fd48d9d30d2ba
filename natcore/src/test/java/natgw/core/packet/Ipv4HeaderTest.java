package natgw.core.packet;

import java.nio.ByteOrder;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import natgw.core.testing.CapturedPacket;

import static natgw.core.flow.FlowTuple.parseAddress;
import static natgw.core.testing.ReferenceChecksum.expectedIpChecksum;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Expected values are what tcpdump -vv printed for each captured packet (see the fixture's comments). */
class Ipv4HeaderTest
{
    private final Ipv4Header ip = new Ipv4Header();

    @Test
    void shouldReadCapturedTcpSynHeader()
    {
        // IP (tos 0x0, ttl 63, id 1445, offset 0, flags [DF], proto TCP (6), length 60) 10.201.1.2 > 10.201.2.2
        ip.wrap(CapturedPacket.buffer("tcp-syn"), 0);
        assertEquals(4, ip.version());
        assertEquals(20, ip.headerLength());
        assertEquals(0, ip.tos());
        assertEquals(60, ip.totalLength());
        assertEquals(1445, ip.identification());
        assertEquals(Ipv4Header.FLAG_DF, ip.flagsAndFragmentOffset());
        assertFalse(ip.isFragment());
        assertEquals(63, ip.ttl());
        assertEquals(Ipv4Header.PROTO_TCP, ip.protocol());
        assertEquals(0x1d82, ip.checksum());
        assertEquals(parseAddress("10.201.1.2"), ip.srcAddress());
        assertEquals(parseAddress("10.201.2.2"), ip.dstAddress());
        assertEquals(20, ip.payloadOffset());
        assertEquals(40, ip.payloadLength());
        assertTrue(ip.isChecksumValid());
    }

    @Test
    void shouldReadCapturedUdpHeader()
    {
        // IP (tos 0x0, ttl 63, id 13139, offset 0, flags [DF], proto UDP (17), length 38)
        ip.wrap(CapturedPacket.buffer("udp-datagram"), 0);
        assertEquals(Ipv4Header.PROTO_UDP, ip.protocol());
        assertEquals(13139, ip.identification());
        assertEquals(63, ip.ttl());
        assertEquals(38, ip.totalLength());
        assertEquals(18, ip.payloadLength());
        assertTrue(ip.isChecksumValid());
    }

    @Test
    void shouldReadCapturedIcmpErrorHeaderWithTosAndNoFlags()
    {
        // IP (tos 0xc0, ttl 63, id 58836, offset 0, flags [none], proto ICMP (1), length 66) 10.201.2.2 > 10.201.1.2
        ip.wrap(CapturedPacket.buffer("icmp-port-unreachable"), 0);
        assertEquals(0xc0, ip.tos());
        assertEquals(58836, ip.identification());
        assertEquals(0, ip.flagsAndFragmentOffset());
        assertEquals(Ipv4Header.PROTO_ICMP, ip.protocol());
        assertEquals(66, ip.totalLength());
        assertEquals(parseAddress("10.201.2.2"), ip.srcAddress());
        assertEquals(parseAddress("10.201.1.2"), ip.dstAddress());
        assertTrue(ip.isChecksumValid());
    }

    @Test
    void shouldReadQuotedHeaderInsideCapturedIcmpError()
    {
        // quoted: IP (tos 0x0, ttl 1, id 64135, offset 0, flags [DF], proto TCP (6), length 60)
        ip.wrap(CapturedPacket.buffer("icmp-time-exceeded-tcp"), 20 + IcmpHeader.EMBEDDED_OFFSET);
        assertEquals(4, ip.version());
        assertEquals(1, ip.ttl());
        assertEquals(64135, ip.identification());
        assertEquals(Ipv4Header.FLAG_DF, ip.flagsAndFragmentOffset());
        assertEquals(Ipv4Header.PROTO_TCP, ip.protocol());
        assertEquals(60, ip.totalLength());
        assertEquals(parseAddress("10.201.1.2"), ip.srcAddress());
        assertEquals(parseAddress("10.201.2.2"), ip.dstAddress());
        assertEquals(0x669f, ip.checksum());
        assertTrue(ip.isChecksumValid());
    }

    @Test
    void shouldReadHeaderAtNonZeroOffset()
    {
        final byte[] captured = CapturedPacket.bytes("udp-datagram");
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[captured.length + 7]);
        buffer.putBytes(7, captured);
        ip.wrap(buffer, 7);
        assertEquals(7, ip.offset());
        assertEquals(27, ip.payloadOffset());
        assertEquals(parseAddress("10.201.1.2"), ip.srcAddress());
        assertTrue(ip.isChecksumValid());
    }

    @Test
    void shouldRebuildEveryCapturedHeaderByteForByteWithSetters()
    {
        for (final String name : new String[]{ "tcp-syn", "tcp-synack", "tcp-data", "udp-datagram", "icmp-echo-request",
            "icmp-echo-reply", "icmp-port-unreachable", "icmp-time-exceeded-echo", "icmp-time-exceeded-tcp", "icmp-frag-needed" })
        {
            final byte[] captured = CapturedPacket.bytes(name);
            final Ipv4Header read = new Ipv4Header().wrap(new UnsafeBuffer(captured), 0);
            final UnsafeBuffer rebuilt = new UnsafeBuffer(new byte[20]);
            ip.wrap(rebuilt, 0)
                .versionAndHeaderLength(read.version(), read.headerLength())
                .tos(read.tos())
                .totalLength(read.totalLength())
                .identification(read.identification())
                .flagsAndFragmentOffset(read.flagsAndFragmentOffset())
                .ttl(read.ttl())
                .protocol(read.protocol())
                .srcAddress(read.srcAddress())
                .dstAddress(read.dstAddress())
                .checksum(0xdead)
                .computeChecksum();
            final byte[] header = new byte[20];
            System.arraycopy(captured, 0, header, 0, 20);
            assertArrayEquals(header, rebuilt.byteArray(), name);
        }
    }

    @Test
    void shouldComputeClassicRfcExampleChecksum()
    {
        // 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7
        final UnsafeBuffer buffer = new UnsafeBuffer(CapturedPacket.hexToBytes("4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7"));
        ip.wrap(buffer, 0).computeChecksum();
        assertEquals(0xb861, ip.checksum());
        assertTrue(ip.isChecksumValid());
    }

    @Test
    void shouldDetectCorruptedHeader()
    {
        final UnsafeBuffer buffer = CapturedPacket.buffer("tcp-syn");
        ip.wrap(buffer, 0);
        for (int i = 0; i < 20; i++)
        {
            final byte old = buffer.getByte(i);
            buffer.putByte(i, (byte)(old ^ 0x10));
            assertFalse(ip.isChecksumValid(), "flipped bit in byte " + i);
            buffer.putByte(i, old);
        }
        assertTrue(ip.isChecksumValid());
    }

    @Test
    void shouldCoverOptionsInHeaderLengthAndChecksum()
    {
        // IHL 6: a 4-byte option (NOP, NOP, NOP, EOL)
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[32]);
        ip.wrap(buffer, 0).versionAndHeaderLength(4, 24).totalLength(32).ttl(64).protocol(Ipv4Header.PROTO_UDP)
            .srcAddress(parseAddress("192.0.2.1")).dstAddress(parseAddress("198.51.100.7"));
        buffer.putInt(20, 0x01010100);
        ip.computeChecksum();
        assertEquals(24, ip.headerLength());
        assertEquals(24, ip.payloadOffset());
        assertEquals(8, ip.payloadLength());
        assertEquals(expectedIpChecksum(buffer.byteArray(), 0), ip.checksum());
        buffer.putByte(21, (byte)0x44);
        assertFalse(ip.isChecksumValid(), "an option byte is covered");
    }

    @Test
    void shouldTreatMoreFragmentsOrNonZeroOffsetAsFragment()
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[20]);
        ip.wrap(buffer, 0);
        assertFalse(ip.flagsAndFragmentOffset(0).isFragment());
        assertFalse(ip.flagsAndFragmentOffset(Ipv4Header.FLAG_DF).isFragment());
        assertTrue(ip.flagsAndFragmentOffset(Ipv4Header.FLAG_MF).isFragment());
        assertTrue(ip.flagsAndFragmentOffset(1).isFragment());
        assertTrue(ip.flagsAndFragmentOffset(Ipv4Header.FLAG_DF | Ipv4Header.FRAGMENT_OFFSET_MASK).isFragment());
    }

    @Test
    void shouldRoundTripHighAddressesAndLengthsAsUnsigned()
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[20]);
        ip.wrap(buffer, 0).srcAddress(parseAddress("255.254.253.252")).dstAddress(parseAddress("128.0.0.1"))
            .totalLength(65535).identification(0xFFFF).ttl(255).tos(0xFF).protocol(0xFF);
        assertEquals(0xFFFEFDFC, ip.srcAddress());
        assertEquals(0x80000001, ip.dstAddress());
        assertEquals(65535, ip.totalLength());
        assertEquals(0xFFFF, ip.identification());
        assertEquals(255, ip.ttl());
        assertEquals(0xFF, ip.tos());
        assertEquals(0xFF, ip.protocol());
    }

    @Test
    void shouldDecodeFixedHeaderWordsAsTheFlyweightReadsFields()
    {
        final UnsafeBuffer buffer = CapturedPacket.buffer("tcp-syn");
        final long word0 = buffer.getLong(Ipv4Header.WORD0_OFFSET, ByteOrder.BIG_ENDIAN);
        final long word1 = buffer.getLong(Ipv4Header.WORD1_OFFSET, ByteOrder.BIG_ENDIAN);
        ip.wrap(buffer, 0);
        assertEquals(4, Ipv4Header.versionOf(word0));
        assertEquals(ip.headerLength(), Ipv4Header.headerLengthOf(word0));
        assertEquals(60, Ipv4Header.totalLengthOf(word0));
        assertFalse(Ipv4Header.isFragmentOf(word0)); // DF set: not a fragment
        assertEquals(63, Ipv4Header.ttlOf(word1));
        assertEquals(Ipv4Header.PROTO_TCP, Ipv4Header.protocolOf(word1));
        assertEquals(parseAddress("10.201.1.2"), Ipv4Header.srcAddressOf(word1));

        ip.flagsAndFragmentOffset(Ipv4Header.FLAG_MF);
        assertTrue(Ipv4Header.isFragmentOf(buffer.getLong(Ipv4Header.WORD0_OFFSET, ByteOrder.BIG_ENDIAN)));
        ip.flagsAndFragmentOffset(Ipv4Header.FLAG_DF | 185);
        assertTrue(Ipv4Header.isFragmentOf(buffer.getLong(Ipv4Header.WORD0_OFFSET, ByteOrder.BIG_ENDIAN)));
    }
}
