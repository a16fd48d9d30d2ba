package natgw.core.testing;

import java.util.ArrayList;
import java.util.List;

import org.agrona.DirectBuffer;

import static natgw.core.testing.ReferenceChecksum.field;
import static natgw.core.testing.ReferenceChecksum.ipHeaderLength;
import static natgw.core.testing.ReferenceChecksum.onesComplementSum;

/**
 * What the kernel does with a packet written to a TUN device with a virtio-net header, written for tests from
 * the kernel's behaviour and sharing no code with production: a GSO super-packet is cut into {@code gso_size}
 * segments (tcp_gso_segment, __udp_gso_segment: headers copied, IP length and id, TCP sequence and flags per
 * segment), and a partial checksum ({@code NEEDS_CSUM}) is finished from the field's seed, never recomputed
 * from the addresses: the seed (the pseudo header sum, not inverted) is moved by the change of the length it
 * covers, then the device sums the segment from {@code csum_start} on. A seed natgw got wrong therefore
 * gives segments whose checksums fail a full recomputation.
 */
public final class SoftwareGso
{
    public static final int VNET_LENGTH = 10;
    private static final int NEEDS_CSUM = 1;
    private static final int GSO_NONE = 0;
    private static final int GSO_TCPV4 = 1;
    private static final int GSO_UDP_L4 = 5;
    private static final int TCP_FIN = 0x01;
    private static final int TCP_PSH = 0x08;
    private static final int TCP_CWR = 0x80;

    private SoftwareGso()
    {
    }

    /** The IPv4 packets the {@code length} bytes at {@code offset} (virtio-net header first) become on the wire. */
    public static List<byte[]> segment(final DirectBuffer buffer, final int offset, final int length)
    {
        final byte[] all = new byte[length];
        buffer.getBytes(offset, all);
        final int flags = all[0] & 0xFF;
        final int gsoType = all[1] & 0x7F;
        final int gsoSize = le16(all, 4);
        final int csumStart = le16(all, 6);
        final int csumOffset = le16(all, 8);
        final byte[] packet = new byte[length - VNET_LENGTH];
        System.arraycopy(all, VNET_LENGTH, packet, 0, packet.length);
        final List<byte[]> out = new ArrayList<>();
        if (gsoType == GSO_NONE)
        {
            if ((flags & NEEDS_CSUM) != 0)
            {
                finish(packet, csumStart, csumStart + csumOffset, packet[9] == 17);
            }
            out.add(packet);
            return out;
        }
        if ((flags & NEEDS_CSUM) == 0 || gsoSize == 0)
        {
            throw new IllegalArgumentException("GSO without NEEDS_CSUM or gso_size: the kernel would refuse it");
        }
        final int ihl = ipHeaderLength(packet, 0);
        final boolean tcp = gsoType == GSO_TCPV4;
        if (!tcp && gsoType != GSO_UDP_L4)
        {
            throw new IllegalArgumentException("gso_type " + gsoType + " is not one natgw asks for");
        }
        final int l4HeaderLength = tcp ? ((packet[ihl + 12] & 0xF0) >>> 4) * 4 : 8;
        final int headers = ihl + l4HeaderLength;
        final int totalLength = field(packet, 2);
        final int payload = totalLength - headers;
        final int oldL4Length = totalLength - ihl;
        final int checkAt = ihl + (tcp ? 16 : 6);
        final int seed = field(packet, checkAt);
        final int id = field(packet, 4);
        final long seq = u32(packet, ihl + 4);
        final int tcpFlags = tcp ? packet[ihl + 13] & 0xFF : 0;
        final int count = Math.max(1, (payload + gsoSize - 1) / gsoSize);
        for (int k = 0; k < count; k++)
        {
            final int chunk = Math.min(gsoSize, payload - k * gsoSize);
            final byte[] seg = new byte[headers + chunk];
            System.arraycopy(packet, 0, seg, 0, headers);
            System.arraycopy(packet, headers + k * gsoSize, seg, headers, chunk);
            put16(seg, 2, seg.length);
            put16(seg, 4, id + k & 0xFFFF);
            put16(seg, 10, 0);
            put16(seg, 10, ~onesComplementSum(seg, 0, ihl, 0) & 0xFFFF);
            final int l4Length = seg.length - ihl;
            if (tcp)
            {
                put32(seg, ihl + 4, seq + (long)k * gsoSize);
                int f = tcpFlags;
                if (k != count - 1)
                {
                    f &= ~(TCP_FIN | TCP_PSH);
                }
                if (k != 0)
                {
                    f &= ~TCP_CWR;
                }
                seg[ihl + 13] = (byte)f;
            }
            else
            {
                put16(seg, ihl + 4, l4Length);
            }
            // the seed covered the super-packet's L4 length: replace that word by the segment's (RFC 1624)
            int adjusted = seed + (~oldL4Length & 0xFFFF);
            adjusted = (adjusted & 0xFFFF) + (adjusted >>> 16);
            adjusted += l4Length;
            adjusted = (adjusted & 0xFFFF) + (adjusted >>> 16);
            put16(seg, checkAt, adjusted);
            finish(seg, ihl, checkAt, !tcp);
            out.add(seg);
        }
        return out;
    }

    /** Reads the little-endian (x86-64, AArch64: the host's) 16-bit field of a virtio-net header. */
    public static int le16(final byte[] header, final int offset)
    {
        return header[offset] & 0xFF | (header[offset + 1] & 0xFF) << 8;
    }

    /** The device's part: sum from csum_start to the end, the field's seed included, and store the complement. */
    private static void finish(final byte[] packet, final int start, final int fieldAt, final boolean udp)
    {
        final int end = field(packet, 2);
        final int sum = ~onesComplementSum(packet, start, end - start, 0) & 0xFFFF;
        put16(packet, fieldAt, sum == 0 && udp ? 0xFFFF : sum);
    }

    private static long u32(final byte[] b, final int offset)
    {
        return (long)field(b, offset) << 16 | field(b, offset + 2);
    }

    private static void put16(final byte[] b, final int offset, final int value)
    {
        b[offset] = (byte)(value >>> 8);
        b[offset + 1] = (byte)value;
    }

    private static void put32(final byte[] b, final int offset, final long value)
    {
        put16(b, offset, (int)(value >>> 16) & 0xFFFF);
        put16(b, offset + 2, (int)value & 0xFFFF);
    }
}
