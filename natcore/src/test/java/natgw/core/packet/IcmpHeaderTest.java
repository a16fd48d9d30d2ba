package natgw.core.packet;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import natgw.core.testing.CapturedPacket;

import static natgw.core.flow.FlowTuple.parseAddress;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Expected values are what tcpdump -vv printed for each captured packet (see the fixture's comments). */
class IcmpHeaderTest
{
    private final IcmpHeader icmp = new IcmpHeader();

    @Test
    void shouldReadCapturedEchoRequest()
    {
        // 10.201.1.2 > 10.201.2.2: ICMP echo request, id 9445, seq 1, length 32
        icmp.wrap(CapturedPacket.buffer("icmp-echo-request"), 20);
        assertEquals(20, icmp.offset());
        assertEquals(IcmpHeader.ECHO_REQUEST, icmp.type());
        assertEquals(0, icmp.code());
        assertEquals(9445, icmp.identifier());
        assertEquals(1, icmp.sequence());
        assertEquals(0x3699, icmp.checksum());
        assertTrue(icmp.isEcho());
        assertFalse(icmp.isError());
        assertTrue(icmp.isChecksumValid(32));
    }

    @Test
    void shouldReadCapturedEchoReply()
    {
        // 10.201.2.2 > 10.201.1.2: ICMP echo reply, id 9445, seq 1, length 32
        icmp.wrap(CapturedPacket.buffer("icmp-echo-reply"), 20);
        assertEquals(IcmpHeader.ECHO_REPLY, icmp.type());
        assertEquals(9445, icmp.identifier());
        assertEquals(1, icmp.sequence());
        assertTrue(icmp.isEcho());
        assertTrue(icmp.isChecksumValid(32));
    }

    @Test
    void shouldReadCapturedPortUnreachable()
    {
        // ICMP 10.201.2.2 udp port 5353 unreachable, length 46
        icmp.wrap(CapturedPacket.buffer("icmp-port-unreachable"), 20);
        assertEquals(IcmpHeader.DEST_UNREACHABLE, icmp.type());
        assertEquals(IcmpHeader.CODE_PORT_UNREACHABLE, icmp.code());
        assertEquals(0x15b6, icmp.checksum());
        assertTrue(icmp.isError());
        assertFalse(icmp.isEcho());
        assertTrue(icmp.isChecksumValid(46));
    }

    @Test
    void shouldReadCapturedTimeExceededAboutEcho()
    {
        // ICMP time exceeded in-transit, length 60; quoted: ICMP echo request, id 9446, seq 1
        final UnsafeBuffer buffer = CapturedPacket.buffer("icmp-time-exceeded-echo");
        icmp.wrap(buffer, 20);
        assertEquals(IcmpHeader.TIME_EXCEEDED, icmp.type());
        assertEquals(0, icmp.code());
        assertTrue(icmp.isError());
        assertTrue(icmp.isChecksumValid(60));
        final IcmpHeader quoted = new IcmpHeader().wrap(buffer, 20 + IcmpHeader.EMBEDDED_OFFSET + 20);
        assertEquals(IcmpHeader.ECHO_REQUEST, quoted.type());
        assertEquals(9446, quoted.identifier());
        assertEquals(1, quoted.sequence());
        assertTrue(quoted.isChecksumValid(32), "the whole echo request is quoted");
    }

    @Test
    void shouldReadCapturedFragmentationNeededWithNextHopMtu()
    {
        // ICMP 10.201.2.3 unreachable - need to frag (mtu 1280), length 556
        icmp.wrap(CapturedPacket.buffer("icmp-frag-needed"), 20);
        assertEquals(IcmpHeader.DEST_UNREACHABLE, icmp.type());
        assertEquals(IcmpHeader.CODE_FRAGMENTATION_NEEDED, icmp.code());
        assertEquals(1280, icmp.nextHopMtu());
        assertEquals(0x2533, icmp.checksum());
        assertTrue(icmp.isChecksumValid(556));
    }

    @Test
    void shouldRebuildCapturedMessagesByteForByteWithSetters()
    {
        rebuildEcho("icmp-echo-request", IcmpHeader.ECHO_REQUEST);
        rebuildEcho("icmp-echo-reply", IcmpHeader.ECHO_REPLY);

        final byte[] captured = CapturedPacket.bytes("icmp-frag-needed");
        final int length = captured.length - 20;
        final UnsafeBuffer rebuilt = new UnsafeBuffer(new byte[length]);
        rebuilt.putBytes(IcmpHeader.EMBEDDED_OFFSET, captured, 20 + IcmpHeader.EMBEDDED_OFFSET, length - IcmpHeader.EMBEDDED_OFFSET);
        icmp.wrap(rebuilt, 0).type(IcmpHeader.DEST_UNREACHABLE).code(IcmpHeader.CODE_FRAGMENTATION_NEEDED)
            .identifier(0).nextHopMtu(1280).checksum(0x5555).computeChecksum(length);
        assertArrayEquals(slice(captured, 20, length), rebuilt.byteArray());
    }

    private void rebuildEcho(final String name, final int type)
    {
        final byte[] captured = CapturedPacket.bytes(name);
        final int length = captured.length - 20;
        final UnsafeBuffer rebuilt = new UnsafeBuffer(new byte[length]);
        rebuilt.putBytes(IcmpHeader.HEADER_LENGTH, captured, 20 + IcmpHeader.HEADER_LENGTH, length - IcmpHeader.HEADER_LENGTH);
        icmp.wrap(rebuilt, 0).type(type).code(0).identifier(9445).sequence(1).checksum(0xffff).computeChecksum(length);
        assertArrayEquals(slice(captured, 20, length), rebuilt.byteArray(), name);
    }

    @Test
    void shouldClassifyTypes()
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[8]);
        icmp.wrap(buffer, 0);
        for (int type = 0; type < 256; type++)
        {
            icmp.type(type);
            final boolean error = type == 3 || type == 4 || type == 11 || type == 12;
            final boolean echo = type == 0 || type == 8;
            assertEquals(error, icmp.isError(), "type " + type);
            assertEquals(echo, icmp.isEcho(), "type " + type);
        }
    }

    @Test
    void shouldDetectCorruptedMessage()
    {
        final UnsafeBuffer buffer = CapturedPacket.buffer("icmp-echo-request");
        icmp.wrap(buffer, 20);
        icmp.identifier(9446);
        assertFalse(icmp.isChecksumValid(32));
        icmp.computeChecksum(32);
        assertTrue(icmp.isChecksumValid(32));
        assertEquals(natgw.core.testing.ReferenceChecksum.expectedL4Checksum(buffer.byteArray(), 0), icmp.checksum());
        assertEquals(parseAddress("10.201.1.2"), new Ipv4Header().wrap(buffer, 0).srcAddress(), "the IP header is untouched");
    }

    private static byte[] slice(final byte[] bytes, final int offset, final int length)
    {
        final byte[] slice = new byte[length];
        System.arraycopy(bytes, offset, slice, 0, length);
        return slice;
    }
}
