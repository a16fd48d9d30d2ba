package natgw.tun;

import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import natgw.core.flow.FlowTuple;
import natgw.core.flow.QueueSteering;
import natgw.tun.testing.TestNetns;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static natgw.tun.LinuxTunTest.openWithAddress;
import static natgw.tun.Packets.directBuffers;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link TunSteering#PORTS}, {@link TunSteering#FLOWS} and {@link TunSteering#CONNECTIONS} on the real device: the queue each packet is read from. */
class LinuxTunSteeringTest
{
    private static final String TUN_ADDRESS = "10.99.0.1";
    private static final String PEER = "10.99.0.2";
    private static final int OFFSET = 16;
    private static final long DEADLINE_MS = 5_000;
    private static final int PROTO_TCP = 6;
    private static final int PROTO_UDP = 17;
    private static final int FRAGMENT_OFFSET_MASK = 0x1FFF;

    private final UnsafeBuffer[] bufs = directBuffers(LinuxTun.BATCH_SIZE, 65536 + 64);
    private final int[] sizes = new int[LinuxTun.BATCH_SIZE];

    @Test
    @Tag("root")
    void shouldReadEachDatagramFromTheQueueOfItsPortsSum() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only(); LinuxTun tun = openWithAddress(ns, 3, false, TunSteering.PORTS))
        {
            assertNull(tun.steeringRefusal());
            assertEquals(TunSteering.PORTS, tun.steering());
            final int datagrams = 16;
            ns.run(() ->
            {
                for (int i = 0; i < datagrams; i++)
                {
                    try (DatagramChannel socket = DatagramChannel.open(StandardProtocolFamily.INET))
                    {
                        // sums past 65,535 too, where the TUN's 16 bits of the program's answer would wrap
                        socket.bind(new InetSocketAddress(TUN_ADDRESS, 40_000 + i));
                        socket.send(ByteBuffer.wrap(new byte[20]), new InetSocketAddress(PEER, 25_530 + i));
                    }
                }
            });

            final List<int[]> seen = receiveUdp(tun, datagrams);
            final int[] perQueue = new int[3];
            for (final int[] packet : seen)
            {
                final int queue = packet[0];
                assertEquals(QueueSteering.portsQueue(packet[1], packet[2], 3), queue, "ports " + packet[1] + " -> " + packet[2]);
                perQueue[queue]++;
            }
            assertTrue(perQueue[0] > 0 && perQueue[1] > 0 && perQueue[2] > 0,
                "every worker gets datagrams: " + java.util.Arrays.toString(perQueue));
        }
    }

    @Test
    @Tag("root")
    void shouldSpreadSynsByTheirAddressesToo() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only(); LinuxTun tun = openWithAddress(ns, 3, false, TunSteering.PORTS))
        {
            assertSynsByTheirFlow(ns, tun, PEER, 16);
        }
    }

    @Test
    @Tag("root")
    void shouldSteerFlowsByAddressesAndPortsButRepliesToThePoolAndKeptPortsByPortsAlone() throws Exception
    {
        // a pool of one address and a range past 2^31 (unsigned comparisons); the device routes both
        final int[] pool = {ip("10.99.0.2"), ip("200.1.0.0"), ip("200.1.0.1"), ip("200.1.0.2"), ip("200.1.0.3")};
        try (TestNetns ns = TestNetns.createIpv4Only(); LinuxTun tun = openWithAddress(ns, 3, false, TunSteering.FLOWS, pool))
        {
            assertNull(tun.steeringRefusal());
            assertEquals(TunSteering.FLOWS, tun.steering());
            ns.ip("route", "add", "200.1.0.0/24", "dev", tun.name());
            final String[] destinations = {"10.99.0.2", "10.99.0.4", "200.1.0.3", "200.1.0.5"};
            final int perDestination = 6;
            // odd i: the source endpoint kept its port, as far as the program knows
            for (int d = 0; d < destinations.length; d++)
            {
                for (int i = 1; i < perDestination; i += 2)
                {
                    tun.keptPortHints().record(ip(TUN_ADDRESS), sourcePort(d, i), true);
                }
            }
            ns.run(() ->
            {
                for (int d = 0; d < destinations.length; d++)
                {
                    for (int i = 0; i < perDestination; i++)
                    {
                        try (DatagramChannel socket = DatagramChannel.open(StandardProtocolFamily.INET))
                        {
                            socket.bind(new InetSocketAddress(TUN_ADDRESS, sourcePort(d, i)));
                            socket.send(ByteBuffer.wrap(new byte[20]), new InetSocketAddress(destinations[d], 25_530 + i));
                        }
                    }
                }
            });

            final long source = ip(TUN_ADDRESS) & 0xFFFF_FFFFL;
            int byFlow = 0;
            int flowApart = 0;
            int portsApart = 0;
            for (final int[] packet : receiveUdp(tun, destinations.length * perDestination))
            {
                final long destination = packet[5] & 0xFFFF_FFFFL;
                final boolean toPool = destination == (ip("10.99.0.2") & 0xFFFF_FFFFL) || destination == (ip("200.1.0.3") & 0xFFFF_FFFFL);
                final boolean kept = tun.keptPortHints().kept(ip(TUN_ADDRESS), packet[1]);
                final boolean flow = !toPool && !kept;
                byFlow += flow ? 1 : 0;
                final int flowQueue = QueueSteering.queue(ports(packet[1], packet[2]) + source + destination, 3);
                final int portsQueue = QueueSteering.queue(ports(packet[1], packet[2]), 3);
                assertEquals(flow ? flowQueue : portsQueue, packet[0], "ports " + packet[1] + " -> " + packet[2] + " to " +
                    Integer.toHexString(packet[5]) + (kept ? ", kept" : ""));
                flowApart += flow && flowQueue != portsQueue ? 1 : 0;
                portsApart += !flow && flowQueue != portsQueue ? 1 : 0;
            }
            assertEquals(perDestination, byFlow, "half the datagrams outside the pool, from endpoints that kept no port");
            assertTrue(flowApart > 0 && portsApart > 0, "each rule shows: " + flowApart + " by flow and " + portsApart +
                " by ports where the other rule picks another queue");
        }
    }

    @Test
    @Tag("root")
    void shouldReadEachDatagramFromItsConnectionsHintedQueueElseFromItsFlows() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only(); LinuxTun tun = openWithAddress(ns, 3, false, TunSteering.CONNECTIONS))
        {
            assertNull(tun.steeringRefusal());
            assertEquals(TunSteering.CONNECTIONS, tun.steering());
            assertNull(tun.keptPortHints(), "no kept-port hints with this program");
            final int datagrams = 24;
            final long addresses = FlowTuple.packAddresses(ip(TUN_ADDRESS), ip(PEER));
            // every third datagram's tuple hinted to the queue after its flow's, as a worker writes a reply tuple's
            for (int i = 0; i < datagrams; i += 3)
            {
                final long ports = FlowTuple.packPorts(PROTO_UDP, 41_000 + i, 26_000 + i);
                tun.connectionHints().record(addresses, ports, (QueueSteering.flowQueue(addresses, ports, 3) + 1) % 3);
            }
            ns.run(() ->
            {
                for (int i = 0; i < datagrams; i++)
                {
                    try (DatagramChannel socket = DatagramChannel.open(StandardProtocolFamily.INET))
                    {
                        socket.bind(new InetSocketAddress(TUN_ADDRESS, 41_000 + i));
                        socket.send(ByteBuffer.wrap(new byte[20]), new InetSocketAddress(PEER, 26_000 + i));
                    }
                }
            });
            int hinted = 0;
            for (final int[] packet : receiveUdp(tun, datagrams))
            {
                final long ports = FlowTuple.packPorts(PROTO_UDP, packet[1], packet[2]);
                final int flowQueue = QueueSteering.flowQueue(addresses, ports, 3);
                final boolean hint = (packet[1] - 41_000) % 3 == 0;
                assertEquals(hint ? (flowQueue + 1) % 3 : flowQueue, packet[0], "ports " + packet[1] + " -> " + packet[2]);
                hinted += hint ? 1 : 0;
            }
            assertEquals(datagrams / 3, hinted);
        }
    }

    @Test
    @Tag("root")
    void shouldSteerASynByItsFlowWhateverTheHintSays() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only();
            LinuxTun tun = openWithAddress(ns, 3, false, TunSteering.FLOWS, new int[] {ip("10.99.0.200")}))
        {
            final int connects = 8;
            for (int i = 0; i < connects; i += 2)
            {
                tun.keptPortHints().record(ip(TUN_ADDRESS), 40_000 + i, true); // a SYN makes a new connection: no hint yet
            }
            assertSynsByTheirFlow(ns, tun, "10.99.0.4", connects);
        }
    }

    /**
     * Connects from TUN_ADDRESS:40000.. to {@code peer}:5000.. ({@code connects} sockets, nobody answers: a SYN is all
     * the device reads) and checks each SYN's queue: by its flow (its ports' and both addresses' sum), and that some
     * SYNs' ports alone would have picked another queue.
     */
    private void assertSynsByTheirFlow(final TestNetns ns, final TunDevice tun, final String peer, final int connects)
        throws Exception
    {
        final List<java.nio.channels.SocketChannel> pending = new ArrayList<>();
        try
        {
            ns.run(() ->
            {
                for (int i = 0; i < connects; i++)
                {
                    final java.nio.channels.SocketChannel socket = java.nio.channels.SocketChannel.open(StandardProtocolFamily.INET);
                    pending.add(socket);
                    socket.configureBlocking(false);
                    socket.bind(new InetSocketAddress(TUN_ADDRESS, 40_000 + i));
                    socket.connect(new InetSocketAddress(peer, 5_000 + i));
                }
            });
            final long addresses = (ip(TUN_ADDRESS) & 0xFFFF_FFFFL) + (ip(peer) & 0xFFFF_FFFFL);
            int apart = 0;
            for (final int[] syn : receive(tun, connects, PROTO_TCP))
            {
                assertEquals(0x02, syn[4] & 0x12, "a SYN");
                final int flowQueue = QueueSteering.queue(ports(syn[1], syn[2]) + addresses, 3);
                final int portsQueue = QueueSteering.queue(ports(syn[1], syn[2]), 3);
                assertEquals(flowQueue, syn[0], "ports " + syn[1] + " -> " + syn[2]);
                apart += flowQueue != portsQueue ? 1 : 0;
            }
            assertTrue(apart > 0, "some SYNs' ports alone pick another queue than their flows");
        }
        finally
        {
            for (final java.nio.channels.SocketChannel socket : pending)
            {
                socket.close();
            }
        }
    }

    /** The ports, as the programs add them. */
    private static long ports(final int srcPort, final int dstPort)
    {
        return srcPort + dstPort;
    }

    private static int sourcePort(final int destination, final int i)
    {
        return 40_000 + 7 * i + destination;
    }

    @Test
    @Tag("root")
    void shouldFallBackToThePortsProgramWhenTheFlowsOneIsRefusedAndSayWhy() throws Exception
    {
        final int[] scattered = new int[PortSteeringProgram.MAX_POOL_RANGES + 1];
        for (int i = 0; i < scattered.length; i++)
        {
            scattered[i] = ip("10.0.0.0") + 2 * i;
        }
        try (TestNetns ns = TestNetns.createIpv4Only(); LinuxTun tun = openWithAddress(ns, 3, false, TunSteering.FLOWS, scattered))
        {
            assertEquals(TunSteering.PORTS, tun.steering());
            assertNull(tun.keptPortHints(), "no hints without the flows program");
            assertTrue(tun.steeringRefusal().contains("257 separate address ranges"), tun.steeringRefusal());
            assertSynsByTheirFlow(ns, tun, PEER, 8);
        }
    }

    @Test
    void shouldMergeThePoolIntoRangesAndRefuseTooManyOfThem()
    {
        final long[] ranges = PortSteeringProgram.ranges(new int[] {ip("200.1.0.1"), ip("10.0.0.7"), ip("200.1.0.0"), ip("10.0.0.9")});
        assertEquals(3, ranges.length);
        assertEquals((ip("10.0.0.7") & 0xFFFF_FFFFL) << 32 | ip("10.0.0.7"), ranges[0]);
        assertEquals((ip("200.1.0.0") & 0xFFFF_FFFFL) << 32 | (ip("200.1.0.1") & 0xFFFF_FFFFL), ranges[2]);
        final int[] scattered = new int[PortSteeringProgram.MAX_POOL_RANGES + 1];
        for (int i = 0; i < scattered.length; i++)
        {
            scattered[i] = ip("10.0.0.0") + 2 * i;
        }
        final IllegalArgumentException refused =
            org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> PortSteeringProgram.ranges(scattered));
        assertTrue(refused.getMessage().contains("257 separate address ranges"), refused.getMessage());
    }

    private static int ip(final String address)
    {
        return natgw.core.flow.FlowTuple.parseAddress(address);
    }

    @Test
    @Tag("root")
    void shouldSteerAFirstFragmentByPortsAndTheLaterOnesByAddresses() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only(); LinuxTun tun = openWithAddress(ns, 2, false, TunSteering.PORTS))
        {
            // 10.99.0.1 ^ 10.99.0.2 is 3: queue 1; ports 40000 and 5001: queue 0
            assertEquals(0, QueueSteering.portsQueue(40_000, 5_001, 2), "the ports pick the other queue than the addresses");
            ns.run(() ->
            {
                try (DatagramChannel socket = DatagramChannel.open(StandardProtocolFamily.INET))
                {
                    socket.bind(new InetSocketAddress(TUN_ADDRESS, 40_000));
                    socket.send(ByteBuffer.wrap(new byte[3_000]), new InetSocketAddress(PEER, 5_001));
                }
            });

            final List<int[]> fragments = receiveUdp(tun, 3);
            assertEquals(0, fragments.get(0)[0], "the first fragment, with the ports");
            assertEquals(0, fragments.get(0)[3]);
            for (int i = 1; i < 3; i++)
            {
                assertTrue(fragments.get(i)[3] > 0, "a later fragment");
                assertEquals(1, fragments.get(i)[0], "a later fragment, by its addresses");
            }
        }
    }

    @Test
    @Tag("root")
    void shouldGiveAPreExistingDeviceBackToTheKernelsSteeringOnClose() throws Exception
    {
        try (TestNetns ns = TestNetns.createIpv4Only())
        {
            ns.ip("tuntap", "add", "dev", "ngwtp0", "mode", "tun", "multi_queue");
            final java.util.Set<Integer> before = steeringPrograms();
            final java.util.Set<Integer> ours = new java.util.HashSet<>();
            try (LinuxTun tun = ns.call(() -> LinuxTun.open("ngwtp0", 2, 1500, false, TunSteering.PORTS, new int[0])))
            {
                assertEquals(TunSteering.PORTS, tun.steering());
                ours.addAll(steeringPrograms());
                ours.removeAll(before); // other tests' programs may still be on their way out
                assertEquals(1, ours.size(), "the device holds one program of natgw's: " + ours);
            }
            // the kernel frees a detached program after an RCU grace period: wait for it, with a deadline
            final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MS);
            java.util.Set<Integer> left = steeringPrograms();
            while (left.containsAll(ours) && System.nanoTime() < deadline)
            {
                Thread.sleep(20);
                left = steeringPrograms();
            }
            assertTrue(java.util.Collections.disjoint(left, ours), "the device that stays has no program of natgw's left on it");
        }
    }

    /** The ids of the programs named natgw_steer loaded in the kernel (bpftool, which the CI installs). */
    private static java.util.Set<Integer> steeringPrograms() throws Exception
    {
        final Process bpftool;
        try
        {
            bpftool = new ProcessBuilder("bpftool", "-j", "prog", "show").redirectErrorStream(true).start();
        }
        catch (final java.io.IOException ex)
        {
            throw new AssertionError("this test needs bpftool (apt-get install bpftool): " + ex.getMessage(), ex);
        }
        final String out = new String(bpftool.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, bpftool.waitFor(), out);
        final java.util.Set<Integer> ids = new java.util.HashSet<>();
        final java.util.regex.Matcher program =
            java.util.regex.Pattern.compile("\\{\"id\":(\\d+),[^{}]*?\"name\":\"natgw_steer\"").matcher(out);
        while (program.find())
        {
            ids.add(Integer.parseInt(program.group(1)));
        }
        return ids;
    }

    private List<int[]> receiveUdp(final TunDevice tun, final int count)
    {
        return receive(tun, count, PROTO_UDP);
    }

    /**
     * Reads every queue until {@code count} packets of {@code protocol} came: {queue, source port, destination port,
     * fragment offset, TCP flags, destination address} each, by offset.
     */
    private List<int[]> receive(final TunDevice tun, final int count, final int protocol)
    {
        final List<int[]> seen = new ArrayList<>();
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MS);
        while (seen.size() < count && System.nanoTime() < deadline)
        {
            for (int q = 0; q < tun.queueCount(); q++)
            {
                tun.queue(q).awaitReadable(10);
                final int n = tun.queue(q).read(bufs, sizes, OFFSET);
                for (int i = 0; i < n; i++)
                {
                    if (Packets.isIpv4(bufs[i], OFFSET, sizes[i]) && Packets.protocol(bufs[i], OFFSET) == protocol)
                    {
                        final int fragmentOffset = bufs[i].getShort(OFFSET + 6, java.nio.ByteOrder.BIG_ENDIAN) & FRAGMENT_OFFSET_MASK;
                        final int l4 = Packets.l4(bufs[i], OFFSET);
                        seen.add(new int[] {q, bufs[i].getShort(l4, java.nio.ByteOrder.BIG_ENDIAN) & 0xFFFF,
                            bufs[i].getShort(l4 + 2, java.nio.ByteOrder.BIG_ENDIAN) & 0xFFFF, fragmentOffset,
                            protocol == PROTO_TCP ? bufs[i].getByte(l4 + 13) & 0xFF : 0,
                            bufs[i].getInt(OFFSET + 16, java.nio.ByteOrder.BIG_ENDIAN)});
                    }
                }
            }
        }
        assertEquals(count, seen.size(), "protocol " + protocol + " packets out of " + tun.name() + " within " + DEADLINE_MS + " ms");
        seen.sort((a, b) -> Integer.compare(a[3], b[3]));
        return seen;
    }
}
