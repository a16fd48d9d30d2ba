package natgw.core.packet;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

class PacketMemoryTest
{
    @ParameterizedTest
    @ValueSource(booleans = { true, false })
    void shouldReadAndWriteFieldsInNetworkOrderOnHeapAndOffHeap(final boolean direct)
    {
        final UnsafeBuffer buffer = direct ? new UnsafeBuffer(ByteBuffer.allocateDirect(64)) : new UnsafeBuffer(new byte[64]);
        final Object base = buffer.byteArray();
        final long at = buffer.addressOffset();

        PacketMemory.putU16(base, at + 3, 0xBEEF);
        PacketMemory.putInt(base, at + 9, 0xC633_6401);
        assertEquals((short)0xBEEF, buffer.getShort(3, ByteOrder.BIG_ENDIAN));
        assertEquals((byte)0xBE, buffer.getByte(3));
        assertEquals(0xC633_6401, buffer.getInt(9, ByteOrder.BIG_ENDIAN));
        assertEquals((byte)0xC6, buffer.getByte(9));

        buffer.putShort(20, (short)0xFFFE, ByteOrder.BIG_ENDIAN);
        assertEquals(0xFFFE, PacketMemory.u16(base, at + 20)); // unsigned
    }
}
