package natgw.core.packet;

import java.nio.ByteBuffer;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class VirtioNetHeaderTest
{
    private final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(64));
    private final VirtioNetHeader header = new VirtioNetHeader();

    @Test
    void shouldReadTheFieldsTheKernelWritesInHostOrder()
    {
        // struct virtio_net_hdr of a 30-segment TCP super-packet, as a little-endian host's kernel writes it
        final byte[] wire = {1, 1, 54, 0, (byte)0xa8, 5, 20, 0, 16, 0};
        buffer.putBytes(3, wire);
        header.wrap(buffer, 3);

        assertEquals(VirtioNetHeader.NEEDS_CSUM, header.flags());
        assertEquals(VirtioNetHeader.GSO_TCPV4, header.gsoType());
        assertEquals(54, header.hdrLen());
        assertEquals(1448, header.gsoSize());
        assertEquals(20, header.csumStart());
        assertEquals(16, header.csumOffset());
    }

    @Test
    void shouldWriteWhatItReads()
    {
        header.wrap(buffer, 0).flags(VirtioNetHeader.NEEDS_CSUM).gsoType(VirtioNetHeader.GSO_UDP_L4).hdrLen(28)
            .gsoSize(1400).csumStart(20).csumOffset(6);
        final byte[] bytes = new byte[VirtioNetHeader.LENGTH];
        buffer.getBytes(0, bytes);

        assertArrayEquals(new byte[]{1, 5, 28, 0, 0x78, 5, 20, 0, 6, 0}, bytes);
    }

    @Test
    void shouldClearToANoOffloadHeader()
    {
        buffer.setMemory(0, 16, (byte)0x5a);
        header.wrap(buffer, 2).clear();

        assertEquals(0x5a, buffer.getByte(1));
        for (int i = 2; i < 12; i++)
        {
            assertEquals(0, buffer.getByte(i), "byte " + i);
        }
        assertEquals(0x5a, buffer.getByte(12));
    }

    @Test
    void shouldCountTheSegmentsASuperPacketBecomes()
    {
        assertEquals(1, VirtioNetHeader.segments(0, 1448));
        assertEquals(1, VirtioNetHeader.segments(1448, 1448));
        assertEquals(2, VirtioNetHeader.segments(1449, 1448));
        assertEquals(46, VirtioNetHeader.segments(65_535 - 40, 1448)); // 45 full segments and 335 bytes
    }

    @Test
    void shouldTellTheGsoKindWithoutTheEcnBit()
    {
        assertEquals(VirtioNetHeader.GSO_TCPV4, VirtioNetHeader.gsoKind(VirtioNetHeader.GSO_TCPV4 | VirtioNetHeader.GSO_ECN));
    }
}
