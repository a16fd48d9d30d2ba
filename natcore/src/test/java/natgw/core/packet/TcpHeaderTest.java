package natgw.core.packet;

import java.nio.ByteOrder;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import natgw.core.testing.CapturedPacket;

import static natgw.core.flow.FlowTuple.parseAddress;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Expected values are what tcpdump -vv printed for each captured packet (see the fixture's comments). */
class TcpHeaderTest
{
    private static final int CLIENT = parseAddress("10.201.1.2");
    private static final int SERVER = parseAddress("10.201.2.2");

    private final TcpHeader tcp = new TcpHeader();

    @Test
    void shouldReadCapturedSyn()
    {
        // 10.201.1.2.40001 > 10.201.2.2.8080: Flags [S], cksum 0xbe6a (correct), seq 1710342957, win 64240,
        // options [mss 1460,sackOK,TS val 500331337 ecr 0,nop,wscale 10], length 0
        tcp.wrap(CapturedPacket.buffer("tcp-syn"), 20);
        assertEquals(40001, tcp.srcPort());
        assertEquals(8080, tcp.dstPort());
        assertEquals((int)1710342957L, tcp.sequence());
        assertEquals(0, tcp.ack());
        assertEquals(TcpHeader.SYN, tcp.flags());
        assertEquals(64240, tcp.window());
        assertEquals(40, tcp.headerLength());
        assertEquals(0xbe6a, tcp.checksum());
        assertTrue(tcp.isChecksumValid(CLIENT, SERVER, 40));
    }

    @Test
    void shouldReadCapturedSynAck()
    {
        // 10.201.2.2.8080 > 10.201.1.2.40001: Flags [S.], cksum 0xabea (correct), seq 2738763550, ack 1710342958, win 65160
        tcp.wrap(CapturedPacket.buffer("tcp-synack"), 20);
        assertEquals(8080, tcp.srcPort());
        assertEquals(40001, tcp.dstPort());
        assertEquals((int)2738763550L, tcp.sequence());
        assertEquals((int)1710342958L, tcp.ack());
        assertEquals(TcpHeader.SYN | TcpHeader.ACK, tcp.flags());
        assertEquals(65160, tcp.window());
        assertEquals(40, tcp.headerLength());
        assertEquals(0xabea, tcp.checksum());
        assertTrue(tcp.isChecksumValid(SERVER, CLIENT, 40));
    }

    @Test
    void shouldReadCapturedDataSegmentWithPayload()
    {
        // Flags [P.], cksum 0x9519 (correct), seq 1710342958:1710342964, ack 2738763551, win 63,
        // options [nop,nop,TS val 500331337 ecr 1086059454], length 6
        final UnsafeBuffer buffer = CapturedPacket.buffer("tcp-data");
        tcp.wrap(buffer, 20);
        assertEquals((int)1710342958L, tcp.sequence());
        assertEquals((int)2738763551L, tcp.ack());
        assertEquals(TcpHeader.PSH | TcpHeader.ACK, tcp.flags());
        assertEquals(63, tcp.window());
        assertEquals(32, tcp.headerLength());
        assertEquals(6, 38 - tcp.headerLength());
        assertEquals("hello\n", buffer.getStringWithoutLengthAscii(20 + 32, 6));
        assertEquals(0x9519, tcp.checksum());
        assertTrue(tcp.isChecksumValid(CLIENT, SERVER, 38));
    }

    @Test
    void shouldReadQuotedSynInsideCapturedTimeExceeded()
    {
        // quoted: 10.201.1.2.40003 > 10.201.2.2.8080: Flags [S], cksum 0x22e8 (correct), seq 3331352562
        final int l4 = 20 + IcmpHeader.EMBEDDED_OFFSET + 20;
        tcp.wrap(CapturedPacket.buffer("icmp-time-exceeded-tcp"), l4);
        assertEquals(40003, tcp.srcPort());
        assertEquals(8080, tcp.dstPort());
        assertEquals((int)3331352562L, tcp.sequence());
        assertEquals(TcpHeader.SYN, tcp.flags());
        assertEquals(0x22e8, tcp.checksum());
        assertTrue(tcp.isChecksumValid(CLIENT, SERVER, 40));
    }

    @Test
    void shouldRebuildCapturedSegmentsByteForByteWithSetters()
    {
        rebuild("tcp-syn", CLIENT, SERVER);
        rebuild("tcp-synack", SERVER, CLIENT);
        rebuild("tcp-data", CLIENT, SERVER);
    }

    private void rebuild(final String name, final int src, final int dst)
    {
        final byte[] captured = CapturedPacket.bytes(name);
        final int l4Length = captured.length - 20;
        final TcpHeader read = new TcpHeader().wrap(new UnsafeBuffer(captured), 20);
        final UnsafeBuffer rebuilt = new UnsafeBuffer(new byte[l4Length]);
        // options and payload are opaque to the flyweight: copied as they are
        rebuilt.putBytes(TcpHeader.MIN_LENGTH, captured, 20 + TcpHeader.MIN_LENGTH, l4Length - TcpHeader.MIN_LENGTH);
        tcp.wrap(rebuilt, 0)
            .srcPort(read.srcPort())
            .dstPort(read.dstPort())
            .sequence(read.sequence())
            .ack(read.ack())
            .headerLength(read.headerLength())
            .flags(read.flags())
            .window(read.window())
            .checksum(0xbeef)
            .computeChecksum(src, dst, l4Length);
        final byte[] segment = new byte[l4Length];
        System.arraycopy(captured, 20, segment, 0, l4Length);
        assertArrayEquals(segment, rebuilt.byteArray(), name);
    }

    @Test
    void shouldDetectCorruptedSegmentOrWrongPseudoHeader()
    {
        final UnsafeBuffer buffer = CapturedPacket.buffer("tcp-data");
        tcp.wrap(buffer, 20);
        assertFalse(tcp.isChecksumValid(CLIENT + 1, SERVER, 38), "source address is in the pseudo header");
        assertFalse(tcp.isChecksumValid(CLIENT, SERVER, 36), "length is in the pseudo header");
        buffer.putByte(buffer.capacity() - 1, (byte)'!');
        assertFalse(tcp.isChecksumValid(CLIENT, SERVER, 38), "payload is covered");
    }

    @Test
    void shouldComputeChecksumOverOddLengthPayload()
    {
        final PacketBuilder builder = new PacketBuilder();
        for (int payload = 0; payload < 8; payload++)
        {
            final int length = builder.tcp(0, CLIENT, 1234, SERVER, 80, TcpHeader.ACK, 7, 9, payload);
            final byte[] packet = new byte[length];
            builder.buffer().getBytes(0, packet);
            tcp.wrap(builder.buffer(), 20);
            assertEquals(natgw.core.testing.ReferenceChecksum.expectedL4Checksum(packet, 0), tcp.checksum(), "payload " + payload);
            assertTrue(tcp.isChecksumValid(CLIENT, SERVER, length - 20));
        }
    }

    @Test
    void shouldKeepFlagBitsAndDataOffsetApart()
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[60]);
        tcp.wrap(buffer, 0).headerLength(60).flags(0xFF);
        assertEquals(60, tcp.headerLength());
        assertEquals(0xFF, tcp.flags());
        tcp.headerLength(20);
        assertEquals(20, tcp.headerLength());
        assertEquals(0xFF, tcp.flags());
    }

    @Test
    void shouldDecodeFixedHeaderWordsAsTheFlyweightReadsFields()
    {
        final UnsafeBuffer buffer = CapturedPacket.buffer("tcp-syn");
        final long word0 = buffer.getLong(20 + TcpHeader.WORD0_OFFSET, ByteOrder.BIG_ENDIAN);
        final long word1 = buffer.getLong(20 + TcpHeader.WORD1_OFFSET, ByteOrder.BIG_ENDIAN);
        assertEquals(40001, TcpHeader.srcPortOf(word0));
        assertEquals(8080, TcpHeader.dstPortOf(word0));
        assertEquals(40, TcpHeader.headerLengthOf(word1));
        assertEquals(TcpHeader.SYN, TcpHeader.flagsOf(word1));
    }

    @Test
    void shouldReadTheTimestampOfACapturedSynAmongItsOtherOptions()
    {
        // options [mss 1460,sackOK,TS val 500331337 ecr 0,nop,wscale 10]
        tcp.wrap(CapturedPacket.buffer("tcp-syn"), 20);
        assertEquals(500331337L, tcp.timestampValue());
        assertEquals(TcpHeader.NO_TIMESTAMP, new TcpHeader().wrap(optionsOnly(), 0).timestampValue(), "no options");
    }

    @Test
    void shouldReadATimestampOverTheTopBitUnsigned()
    {
        final UnsafeBuffer buffer = optionsOnly(1, 1, 8, 10, 0xFF, 0xFF, 0xFF, 0xFE, 0, 0, 0, 0);
        assertEquals(0xFFFF_FFFEL, tcp.wrap(buffer, 0).timestampValue());
    }

    @Test
    void shouldStopWhereLinuxStopsParsingOptions()
    {
        final int[] ts = {8, 10, 0, 0, 0, 7, 0, 0, 0, 0};
        assertEquals(TcpHeader.NO_TIMESTAMP, tcp.wrap(optionsOnly(concat(new int[] {0, 1}, ts)), 0).timestampValue(), "after END");
        assertEquals(TcpHeader.NO_TIMESTAMP, tcp.wrap(optionsOnly(concat(new int[] {3, 1, 1, 1}, ts)), 0).timestampValue(),
            "after an option of length 1");
        assertEquals(TcpHeader.NO_TIMESTAMP, tcp.wrap(optionsOnly(8, 9, 0, 0, 0, 7, 0, 0, 0, 0, 1, 1), 0).timestampValue(),
            "a timestamp option of the wrong length");
        assertEquals(TcpHeader.NO_TIMESTAMP, tcp.wrap(optionsOnly(1, 1, 1, 1, 8, 10, 0, 0), 0).timestampValue(),
            "a timestamp option cut by the header's end");
        assertEquals(7L, tcp.wrap(optionsOnly(concat(new int[] {1, 1, 30, 2}, ts)), 0).timestampValue(), "past an unknown option");
    }

    /** A TCP header with {@code options} (padded with END to a multiple of 4) and a data offset covering just them. */
    private static UnsafeBuffer optionsOnly(final int... options)
    {
        final int headerLength = TcpHeader.MIN_LENGTH + (options.length + 3) / 4 * 4;
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[headerLength + 16]);
        buffer.setMemory(headerLength, 16, (byte)8); // what follows the header looks like options: never read
        new TcpHeader().wrap(buffer, 0).headerLength(headerLength);
        for (int i = 0; i < options.length; i++)
        {
            buffer.putByte(TcpHeader.MIN_LENGTH + i, (byte)options[i]);
        }
        return buffer;
    }

    private static int[] concat(final int[] a, final int[] b)
    {
        final int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
