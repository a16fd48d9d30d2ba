package natgw.core.testing;

import org.agrona.DirectBuffer;

import static natgw.core.testing.ReferenceChecksum.expectedIpChecksum;
import static natgw.core.testing.ReferenceChecksum.expectedL4Checksum;
import static natgw.core.testing.ReferenceChecksum.field;
import static natgw.core.testing.ReferenceChecksum.ipHeaderLength;
import static natgw.core.testing.ReferenceChecksum.l4ChecksumOffset;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Whole-packet checks by {@link ReferenceChecksum}: every checksum a packet carries, recomputed in full. */
public final class PacketAssertions
{
    private PacketAssertions()
    {
    }

    /**
     * Asserts the IPv4 header checksum and the transport checksum; for an ICMP error also the quoted IP
     * header checksum and, when the quoted packet is complete, its transport checksum.
     */
    public static void assertChecksumsValid(final DirectBuffer buffer, final int offset, final int length)
    {
        assertChecksumsValid(ReferenceChecksum.copy(buffer, offset, length));
    }

    public static void assertChecksumsValid(final byte[] packet)
    {
        assertEquals(hex(expectedIpChecksum(packet, 0)), hex(field(packet, 10)), "IPv4 header checksum");
        final int l4ChecksumOffset = l4ChecksumOffset(packet, 0);
        final int carried = field(packet, l4ChecksumOffset);
        if (packet[9] != 17 || carried != 0)
        {
            assertEquals(hex(expectedL4Checksum(packet, 0)), hex(carried), "transport checksum");
        }
        final int l4 = ipHeaderLength(packet, 0);
        final int type = packet[l4] & 0xFF;
        if (packet[9] == 1 && (type == 3 || type == 4 || type == 11 || type == 12))
        {
            final int inner = l4 + 8;
            assertEquals(hex(expectedIpChecksum(packet, inner)), hex(field(packet, inner + 10)), "quoted IPv4 header checksum");
            final int innerTotalLength = field(packet, inner + 2);
            if (inner + innerTotalLength <= packet.length)
            {
                final byte[] quoted = new byte[innerTotalLength];
                System.arraycopy(packet, inner, quoted, 0, innerTotalLength);
                final int innerCarried = field(quoted, l4ChecksumOffset(quoted, 0));
                if (quoted[9] != 17 || innerCarried != 0)
                {
                    assertEquals(hex(expectedL4Checksum(quoted, 0)), hex(innerCarried), "quoted transport checksum");
                }
            }
        }
    }

    public static String hex(final int word)
    {
        return String.format("0x%04x", word);
    }
}
