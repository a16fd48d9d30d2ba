package natgw.tun;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.DatagramChannel;
import java.util.concurrent.TimeUnit;

import natgw.tun.testing.TestNetns;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static natgw.tun.LinuxTunTest.openWithAddress;
import static natgw.tun.Packets.PROTO_UDP;
import static natgw.tun.Packets.directBuffers;
import static natgw.tun.Packets.ip;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real device with offloads (IFF_VNET_HDR, TUNSETOFFLOAD), in a throw-away namespace: the header the kernel
 * puts in front of what it hands over, and the kernel's acceptance of a GSO super-packet written back.
 */
class LinuxTunOffloadTest
{
    private static final String TUN_ADDRESS = "10.99.0.1";
    private static final String PEER = "10.99.0.2";
    private static final int OFFSET = 16;
    private static final int VNET = LinuxTun.VNET_HEADER_LENGTH;
    private static final long DEADLINE_MS = 5_000;
    private static final ByteOrder HOST = ByteOrder.nativeOrder();

    private final UnsafeBuffer[] bufs = directBuffers(LinuxTun.BATCH_SIZE, 65536 + 64);
    private final int[] sizes = new int[LinuxTun.BATCH_SIZE];

    @Test
    @Tag("root")
    void shouldRunWithChecksumAndSegmentationOffloads() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only(); LinuxTun tun = openWithAddress(ns, 2, true))
        {
            final TunOffloads offloads = tun.offloads();
            assertTrue(offloads.vnetHeader());
            assertTrue(offloads.has(TunOffloads.CSUM | TunOffloads.TSO4 | TunOffloads.TSO6), offloads.names());
            assertTrue(offloads.names().startsWith("csum,tso4,tso6"), offloads.names());
        }
    }

    @Test
    @Tag("root")
    void shouldHandOverALocalDatagramWithItsChecksumLeftToFinish() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only(); LinuxTun tun = openWithAddress(ns, 1, true))
        {
            ns.run(() ->
            {
                try (DatagramChannel socket = DatagramChannel.open(StandardProtocolFamily.INET))
                {
                    socket.send(ByteBuffer.wrap(new byte[300]), new InetSocketAddress(PEER, 9999));
                }
            });

            final int length = receiveUdp(tun, 9999);
            final UnsafeBuffer b = bufs[0];
            assertEquals(VNET + 20 + 8 + 300, length);
            assertEquals(1, b.getByte(OFFSET - VNET) & 0xFF, "NEEDS_CSUM: the device (natgw) finishes the checksum");
            assertEquals(0, b.getByte(OFFSET - VNET + 1), "no GSO for one datagram");
            assertEquals(20, b.getShort(OFFSET - VNET + 6, HOST), "csum_start at the UDP header");
            assertEquals(6, b.getShort(OFFSET - VNET + 8, HOST), "csum_offset at the UDP checksum");
        }
    }

    @Test
    @Tag("root")
    void shouldAcceptAWrittenUdpSuperPacketAndDeliverItsSegments() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only(); LinuxTun tun = openWithAddress(ns, 1, true))
        {
            try (DatagramSocket socket = ns.call(() -> new DatagramSocket(new InetSocketAddress(TUN_ADDRESS, 7777))))
            {
                socket.setSoTimeout((int)DEADLINE_MS);
                final byte[] payload = new byte[3 * 100];
                for (int i = 0; i < payload.length; i++)
                {
                    payload[i] = (byte)(i / 100 + 'a');
                }
                final UnsafeBuffer b = bufs[0];
                final int ipLength = Packets.udp(b, OFFSET, ip(PEER), ip(TUN_ADDRESS), 5555, 7777, payload);
                b.putShort(OFFSET + 26, (short)partialSeed(b, OFFSET, ipLength), ByteOrder.BIG_ENDIAN);
                b.setMemory(OFFSET - VNET, VNET, (byte)0);
                b.putByte(OFFSET - VNET, (byte)1);  // NEEDS_CSUM
                b.putByte(OFFSET - VNET + 1, (byte)5); // GSO_UDP_L4
                b.putShort(OFFSET - VNET + 2, (short)28, HOST);
                b.putShort(OFFSET - VNET + 4, (short)100, HOST);
                b.putShort(OFFSET - VNET + 6, (short)20, HOST);
                b.putShort(OFFSET - VNET + 8, (short)6, HOST);
                sizes[0] = VNET + ipLength;

                assertEquals(1, tun.queue(0).write(bufs, sizes, OFFSET - VNET, 1));

                for (int k = 0; k < 3; k++)
                {
                    final DatagramPacket received = new DatagramPacket(new byte[2048], 2048);
                    socket.receive(received); // cut by the kernel: UDP_SEGMENT ends at a socket without UDP_GRO
                    assertEquals(100, received.getLength());
                    assertEquals('a' + k, received.getData()[0]);
                }
            }
        }
    }

    /** The pseudo header's one's complement sum, folded, not inverted: what a partial UDP checksum field holds. */
    private static int partialSeed(final UnsafeBuffer b, final int ipOffset, final int ipLength)
    {
        final int l4Length = ipLength - 20;
        long sum = (b.getShort(ipOffset + 12, ByteOrder.BIG_ENDIAN) & 0xFFFF) + (b.getShort(ipOffset + 14, ByteOrder.BIG_ENDIAN) & 0xFFFF) +
            (b.getShort(ipOffset + 16, ByteOrder.BIG_ENDIAN) & 0xFFFF) + (b.getShort(ipOffset + 18, ByteOrder.BIG_ENDIAN) & 0xFFFF) +
            PROTO_UDP + l4Length;
        while ((sum >> 16) != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (int)sum;
    }

    private int receiveUdp(final TunDevice tun, final int port)
    {
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MS);
        while (System.nanoTime() < deadline)
        {
            final TunQueue queue = tun.queue(0);
            queue.awaitReadable(20);
            final int n = queue.read(bufs, sizes, OFFSET - VNET);
            for (int i = 0; i < n; i++)
            {
                if (Packets.isIpv4(bufs[i], OFFSET, sizes[i] - VNET) && Packets.protocol(bufs[i], OFFSET) == PROTO_UDP &&
                    Packets.udpDestinationPort(bufs[i], OFFSET) == port)
                {
                    if (i != 0)
                    {
                        bufs[0].putBytes(0, bufs[i], 0, OFFSET + sizes[i]);
                    }
                    return sizes[i];
                }
            }
        }
        throw new AssertionError("no UDP packet to port " + port + " came out of " + tun.name() + " within " + DEADLINE_MS + " ms");
    }
}
