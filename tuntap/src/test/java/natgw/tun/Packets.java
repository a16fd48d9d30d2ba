package natgw.tun;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Minimal IPv4/UDP/ICMP packets for the TUN tests (the real flyweights live in natcore, which this module
 * does not depend on). Checksums are computed in full: this is test code.
 */
public final class Packets
{
    public static final int IPV4_HEADER = 20;
    public static final int PROTO_ICMP = 1;
    public static final int PROTO_UDP = 17;
    public static final int ICMP_ECHO_REPLY = 0;
    public static final int ICMP_ECHO_REQUEST = 8;

    /** The ICMP identifier of {@link #awaitAnswering}'s echo requests. */
    public static final int PRIMING_ID = 0x5EED;

    private static final ByteOrder BE = ByteOrder.BIG_ENDIAN;

    private Packets()
    {
    }

    public static UnsafeBuffer direct(final int capacity)
    {
        return new UnsafeBuffer(ByteBuffer.allocateDirect(capacity));
    }

    public static UnsafeBuffer[] directBuffers(final int count, final int capacity)
    {
        final UnsafeBuffer[] bufs = new UnsafeBuffer[count];
        for (int i = 0; i < count; i++)
        {
            bufs[i] = direct(capacity);
        }
        return bufs;
    }

    public static int ip(final String address)
    {
        try
        {
            final byte[] b = InetAddress.getByName(address).getAddress();
            return (b[0] & 0xFF) << 24 | (b[1] & 0xFF) << 16 | (b[2] & 0xFF) << 8 | (b[3] & 0xFF);
        }
        catch (final UnknownHostException ex)
        {
            throw new IllegalArgumentException(address, ex);
        }
    }

    /** Writes an IPv4 UDP datagram at {@code offset}; returns its length. UDP checksum 0 (none), as IPv4 allows. */
    public static int udp(
        final MutableDirectBuffer buf, final int offset, final int src, final int dst,
        final int srcPort, final int dstPort, final byte[] payload)
    {
        final int length = IPV4_HEADER + 8 + payload.length;
        ipv4Header(buf, offset, length, PROTO_UDP, src, dst);
        final int udp = offset + IPV4_HEADER;
        buf.putShort(udp, (short)srcPort, BE);
        buf.putShort(udp + 2, (short)dstPort, BE);
        buf.putShort(udp + 4, (short)(8 + payload.length), BE);
        buf.putShort(udp + 6, (short)0, BE);
        buf.putBytes(udp + 8, payload);
        return length;
    }

    /** Writes an IPv4 ICMP echo request at {@code offset}; returns its length. */
    public static int echoRequest(
        final MutableDirectBuffer buf, final int offset, final int src, final int dst, final int id, final int seq)
    {
        final int payload = 16;
        final int length = IPV4_HEADER + 8 + payload;
        ipv4Header(buf, offset, length, PROTO_ICMP, src, dst);
        final int icmp = offset + IPV4_HEADER;
        buf.putByte(icmp, (byte)ICMP_ECHO_REQUEST);
        buf.putByte(icmp + 1, (byte)0);
        buf.putShort(icmp + 2, (short)0, BE);
        buf.putShort(icmp + 4, (short)id, BE);
        buf.putShort(icmp + 6, (short)seq, BE);
        for (int i = 0; i < payload; i++)
        {
            buf.putByte(icmp + 8 + i, (byte)i);
        }
        buf.putShort(icmp + 2, (short)checksum(buf, icmp, 8 + payload), BE);
        return length;
    }

    /**
     * Writes echo requests from {@code peer} to the device's own {@code address} until the kernel answers one,
     * each given a second before the next is written, all within 30 s; fails saying what the namespace counted
     * if none is answered. A test whose subject is something else then starts on a device that is known to carry
     * packets both ways: on a loaded machine the kernel was seen to drop the first echo of a device it had just
     * brought up. Only for a device without offloads (no virtio-net header). Leaves every queue drained.
     */
    public static void awaitAnswering(final natgw.tun.testing.TestNetns ns, final TunDevice tun, final int peer, final int address)
    {
        final UnsafeBuffer[] out = directBuffers(1, 2048);
        final int[] outSizes = new int[1];
        final UnsafeBuffer[] in = directBuffers(tun.queue(0).batchSize(), 2048);
        final int[] inSizes = new int[in.length];
        final long deadlineNs = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        for (int seq = 1; System.nanoTime() - deadlineNs < 0; seq++)
        {
            outSizes[0] = echoRequest(out[0], 0, peer, address, PRIMING_ID, seq);
            tun.queue(0).write(out, outSizes, 0, 1);
            final long untilNs = Math.min(System.nanoTime() + 1_000_000_000L, deadlineNs);
            boolean answered = false;
            while (!answered && System.nanoTime() - untilNs < 0)
            {
                for (int q = 0; q < tun.queueCount(); q++)
                {
                    tun.queue(q).awaitReadable(10);
                    final int n = tun.queue(q).read(in, inSizes, 0);
                    for (int i = 0; i < n; i++)
                    {
                        answered |= isIpv4(in[i], 0, inSizes[i]) && protocol(in[i], 0) == PROTO_ICMP &&
                            icmpType(in[i], 0) == ICMP_ECHO_REPLY && icmpId(in[i], 0) == PRIMING_ID;
                    }
                }
            }
            if (answered)
            {
                for (int q = 0; q < tun.queueCount(); q++)
                {
                    while (tun.queue(q).read(in, inSizes, 0) > 0)
                    {
                        // drained: the test proper reads only its own packets
                    }
                }
                return;
            }
        }
        throw new AssertionError(tun.name() + " answered no echo request in 30 s; the namespace counted:\n" +
            ns.exec("ip", "-s", "link", "show", tun.name()).stdout() + ns.exec("nstat", "-az").stdout());
    }

    public static boolean isIpv4(final DirectBuffer buf, final int offset, final int length)
    {
        return length >= IPV4_HEADER && (buf.getByte(offset) & 0xF0) == 0x40;
    }

    public static int protocol(final DirectBuffer buf, final int offset)
    {
        return buf.getByte(offset + 9) & 0xFF;
    }

    public static int source(final DirectBuffer buf, final int offset)
    {
        return buf.getInt(offset + 12, BE);
    }

    public static int destination(final DirectBuffer buf, final int offset)
    {
        return buf.getInt(offset + 16, BE);
    }

    public static int l4(final DirectBuffer buf, final int offset)
    {
        return offset + (buf.getByte(offset) & 0x0F) * 4;
    }

    public static int udpDestinationPort(final DirectBuffer buf, final int offset)
    {
        return buf.getShort(l4(buf, offset) + 2, BE) & 0xFFFF;
    }

    public static int icmpType(final DirectBuffer buf, final int offset)
    {
        return buf.getByte(l4(buf, offset)) & 0xFF;
    }

    public static int icmpId(final DirectBuffer buf, final int offset)
    {
        return buf.getShort(l4(buf, offset) + 4, BE) & 0xFFFF;
    }

    public static int checksum(final DirectBuffer buf, final int offset, final int length)
    {
        long sum = 0;
        int i = 0;
        for (; i + 1 < length; i += 2)
        {
            sum += buf.getShort(offset + i, BE) & 0xFFFF;
        }
        if (i < length)
        {
            sum += (buf.getByte(offset + i) & 0xFF) << 8;
        }
        while ((sum >> 16) != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (int)(~sum & 0xFFFF);
    }

    private static void ipv4Header(
        final MutableDirectBuffer buf, final int offset, final int totalLength, final int protocol, final int src, final int dst)
    {
        buf.putByte(offset, (byte)0x45);
        buf.putByte(offset + 1, (byte)0);
        buf.putShort(offset + 2, (short)totalLength, BE);
        buf.putShort(offset + 4, (short)0x1234, BE);
        buf.putShort(offset + 6, (short)0x4000, BE); // DF
        buf.putByte(offset + 8, (byte)64);
        buf.putByte(offset + 9, (byte)protocol);
        buf.putShort(offset + 10, (short)0, BE);
        buf.putInt(offset + 12, src, BE);
        buf.putInt(offset + 16, dst, BE);
        buf.putShort(offset + 10, (short)checksum(buf, offset, IPV4_HEADER), BE);
    }
}
