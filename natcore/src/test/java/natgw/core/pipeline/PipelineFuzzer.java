package natgw.core.pipeline;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import org.agrona.BufferUtil;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import natgw.core.conntrack.StatusDescriptor;
import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.Timeouts;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.flow.FlowTuple;
import natgw.core.fragment.FragmentTable;
import natgw.core.nat.AffinityTable;
import natgw.core.nat.BackendCounters;
import natgw.core.nat.Cidr;
import natgw.core.nat.NatAllocator;
import natgw.core.nat.PortStrategy;
import natgw.core.nat.ServiceAccounting;
import natgw.core.nat.Services;
import natgw.core.nat.SnatPolicy;
import natgw.core.packet.DropReason;
import natgw.core.packet.IcmpHeader;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.OddPackets;
import natgw.core.packet.PacketBuilder;
import natgw.core.packet.TcpHeader;
import natgw.core.packet.UdpHeader;
import natgw.core.packet.VirtioNetHeader;
import natgw.core.testing.ConntrackConsistency;

import static natgw.core.flow.FlowTuple.parseAddress;

/**
 * One fuzz input against a fresh pipeline whose table already holds SNAT and DNAT connections (TCP established
 * and half-open, UDP and ICMP replied, a service with an inside backend and one with an outside backend), small
 * enough that the fuzzer reaches a full table and an exhausted pool. The input picks virtio-net headers on or off,
 * one packet at a time or a batch, the port strategy, then packets: raw bytes, an {@link OddPackets} kind, a live
 * connection's packet in either direction with bytes changed (checksums made valid again or not), a fragment of a
 * larger datagram of a live flow, or an ICMP error quoting one; and the clock's steps between them.
 * <p>
 * Oracles: no exception; no packet forwarded with an inside source toward a destination that is not inside; the
 * table consistent at rest after every packet or batch ({@link ConntrackConsistency}); no released fragment with an
 * inside source either; past the fragment timeout, no fragment buffer in use.
 */
final class PipelineFuzzer
{
    static final int INSIDE_CLIENT = parseAddress("10.77.1.2");
    static final int INSIDE_CLIENT2 = parseAddress("10.77.1.3");
    static final int INSIDE_BACKEND = parseAddress("10.77.1.50");
    static final int SERVER = parseAddress("203.0.113.5");
    static final int OUTSIDE_CLIENT = parseAddress("198.18.0.9");
    static final int OUTSIDE_BACKEND = parseAddress("192.0.2.80");
    static final int VIP = parseAddress("10.96.0.10");
    static final int POOL1 = parseAddress("198.51.100.1");
    static final int POOL2 = parseAddress("198.51.100.2");
    private static final int[] ADDRESSES = {
        INSIDE_CLIENT, INSIDE_CLIENT2, INSIDE_BACKEND, SERVER, OUTSIDE_CLIENT, OUTSIDE_BACKEND, VIP, POOL1, POOL2,
        parseAddress("10.77.1.255"), 0, 0xFFFFFFFF};
    /** Small: a few dozen new flows fill it, and early drop and table_full are reached. */
    static final int CAPACITY = 48;
    private static final int PORT_LOW = 1024;
    private static final int PORT_HIGH = 1087;
    private static final int MAX_PACKETS = 24;
    private static final int BUFFER_LENGTH = 4096;
    private static final int QUOTE_AT = 2048;
    private static final int MAX_TIMEOUT_MS = 5 * 24 * 3600 * 1000 + 1000;
    private static final long START_NS = 1_000_000_000L;
    private static final long MAX_ELAPSED_NS = 20L * 24 * 3600 * 1_000_000_000L;
    private static final int FRAGMENT_TIMEOUT_MS = 30_000;

    private final UnsafeBuffer tableBlock = new UnsafeBuffer(BufferUtil.allocateDirectAligned(
        (int)ConntrackTable.memoryBytes(CAPACITY), 64));
    private final MutableDirectBuffer[] buffers = new MutableDirectBuffer[MAX_PACKETS];
    private final int[] lengths = new int[MAX_PACKETS];
    private final int[] verdicts = new int[MAX_PACKETS];
    private final int[] outputLengths = new int[MAX_PACKETS];
    private final PacketBuilder pb = new PacketBuilder(new UnsafeBuffer(ByteBuffer.allocateDirect(4 * BUFFER_LENGTH)));
    /** Reused by every input, cleared first: small, so the held limits are reached. */
    private final FragmentTable fragments = new FragmentTable(4 * FragmentTable.GROUP, 12, 8, BUFFER_LENGTH, FRAGMENT_TIMEOUT_MS, 3);
    private final int[] fragmentOffsets = new int[128];
    private final int[] fragmentLengths = new int[128];
    private final OddPackets odd = new OddPackets(new PacketBuilder());
    private final Ipv4Header ip = new Ipv4Header();
    private final TcpHeader tcp = new TcpHeader();
    private final UdpHeader udp = new UdpHeader();
    private final IcmpHeader icmp = new IcmpHeader();
    private final SnatPolicy snat = new SnatPolicy(List.of(Cidr.parse("10.77.1.0/24")), new int[]{ POOL1, POOL2 }, PORT_LOW, PORT_HIGH);

    private ConntrackTable table;
    private Pipeline pipeline;
    private int vnetLength;
    private long nowNs;

    PipelineFuzzer()
    {
        for (int i = 0; i < MAX_PACKETS; i++)
        {
            buffers[i] = new UnsafeBuffer(ByteBuffer.allocateDirect(BUFFER_LENGTH));
        }
    }

    void run(final FuzzedDataProvider data)
    {
        final boolean virtio = data.consumeBoolean();
        final boolean batch = data.consumeBoolean();
        setUp(virtio, data.pickValue(PortStrategy.values()));
        final List<byte[]> live = livePackets();
        final int count = data.consumeInt(1, MAX_PACKETS);
        for (int i = 0; i < count; i++)
        {
            lengths[i] = vnetLength + packet(data, live, buffers[i]);
            if (virtio && data.consumeBoolean())
            {
                for (int k = 0; k < VirtioNetHeader.LENGTH; k++)
                {
                    buffers[i].putByte(k, data.consumeByte());
                }
            }
            if (!batch)
            {
                step(data);
                verdicts[i] = pipeline.process(buffers[i], 0, lengths[i], nowNs);
                outputLengths[i] = pipeline.outputLength();
                checkOutput(i);
                checkReleased();
                checkTable();
            }
        }
        if (batch)
        {
            step(data);
            pipeline.process(buffers, 0, lengths, count, nowNs, verdicts, outputLengths);
            for (int i = 0; i < count; i++)
            {
                checkOutput(i);
            }
            checkReleased();
            checkTable();
        }
        checkFragmentsExpire();
    }

    // ------------------------------------------------------------------ fixture

    private void setUp(final boolean virtio, final PortStrategy strategy)
    {
        vnetLength = virtio ? VirtioNetHeader.LENGTH : 0;
        nowNs = START_NS;
        tableBlock.setMemory(0, tableBlock.capacity(), (byte)0);
        table = new ConntrackTable(CAPACITY, 0, (length, alignment) -> new UnsafeBuffer(tableBlock, 0, length));
        final WorkerCounters counters = new WorkerCounters(0);
        final BackendCounters backendCounters = new BackendCounters();
        table.onKill(new ServiceAccounting(backendCounters));
        final Services services = new Services();
        services.add(Services.ServiceSpec.parse("tcp:10.96.0.10:80=10.77.1.50:8080,192.0.2.80:8080"));
        services.add(Services.ServiceSpec.parse("udp:10.96.0.10:53=192.0.2.80:53"));
        pipeline = new Pipeline(table, new NatAllocator(table, strategy, counters, 0, true, 42), snat, new Timeouts(), counters,
            true, services, backendCounters, new AffinityTable(16), true).virtioNetHeaders(virtio);
        fragments.clear();
        pipeline.fragments(fragments);

        tcpHandshake(INSIDE_CLIENT, 40000, SERVER, 443);
        exchange(pb.udp(0, INSIDE_CLIENT2, 5353, SERVER, 53, 8));
        exchange(pb.icmpEcho(0, INSIDE_CLIENT, SERVER, IcmpHeader.ECHO_REQUEST, 77, 1, 8));
        tcpHandshake(OUTSIDE_CLIENT, 50000, VIP, 80);
        tcpHandshake(OUTSIDE_CLIENT, 50002, VIP, 80);
        exchange(pb.udp(0, OUTSIDE_CLIENT, 50001, VIP, 53, 8));
        forward(pb.tcp(0, INSIDE_CLIENT, 40001, SERVER, 80, TcpHeader.SYN, 1, 0, 0));
        checkTable();
    }

    private void tcpHandshake(final int src, final int srcPort, final int dst, final int dstPort)
    {
        forward(pb.tcp(0, src, srcPort, dst, dstPort, TcpHeader.SYN, 1000, 0, 0));
        final int entry = entryOf(src, srcPort, dst, dstPort, Ipv4Header.PROTO_TCP);
        final long replyA = table.tupleAddresses(entry, ConntrackTable.REPLY);
        final long replyB = table.tuplePorts(entry, ConntrackTable.REPLY);
        forward(pb.tcp(0, FlowTuple.srcAddress(replyA), FlowTuple.srcPort(replyB), FlowTuple.dstAddress(replyA),
            FlowTuple.dstPort(replyB), TcpHeader.SYN | TcpHeader.ACK, 5000, 1001, 0));
        forward(pb.tcp(0, src, srcPort, dst, dstPort, TcpHeader.ACK, 1001, 5001, 0));
    }

    /** Forwards a request, then its reply built from the connection's reply tuple. */
    private void exchange(final int length)
    {
        final long a = FlowTuple.packAddresses(ip.wrap(pb.buffer(), 0).srcAddress(), ip.dstAddress());
        final int protocol = ip.protocol();
        final int srcPort = protocol == Ipv4Header.PROTO_ICMP ? icmp.wrap(pb.buffer(), Ipv4Header.MIN_LENGTH).identifier() :
            pb.buffer().getShort(Ipv4Header.MIN_LENGTH, ByteOrder.BIG_ENDIAN) & 0xFFFF;
        final int dstPort = protocol == Ipv4Header.PROTO_ICMP ? 0 :
            pb.buffer().getShort(Ipv4Header.MIN_LENGTH + 2, ByteOrder.BIG_ENDIAN) & 0xFFFF;
        forward(length);
        final int entry = entryOf(FlowTuple.srcAddress(a), srcPort, FlowTuple.dstAddress(a), dstPort, protocol);
        forward(tuplePacket(entry, ConntrackTable.REPLY));
    }

    private int entryOf(final int src, final int srcPort, final int dst, final int dstPort, final int protocol)
    {
        final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
        if (!table.lookup(cursor, FlowTuple.packAddresses(src, dst), FlowTuple.packPorts(protocol, srcPort, dstPort)))
        {
            throw new IllegalStateException("the fixture's connection was not created: " + FlowTuple.addressToString(src));
        }
        return cursor.entry();
    }

    private void forward(final int length)
    {
        final MutableDirectBuffer buffer = buffers[0];
        buffer.setMemory(0, vnetLength, (byte)0);
        buffer.putBytes(vnetLength, pb.buffer(), 0, length);
        nowNs += 1_000_000L;
        final int verdict = pipeline.process(buffer, 0, vnetLength + length, nowNs);
        if (verdict != Pipeline.FORWARD)
        {
            throw new IllegalStateException("the fixture's packet was dropped: " + DropReason.get(verdict));
        }
    }

    /** A packet of the connection in {@code entry} travelling in {@code dir}, built in {@link #pb}; returns its length. */
    private int tuplePacket(final int entry, final int dir)
    {
        final long a = table.tupleAddresses(entry, dir);
        final long b = table.tuplePorts(entry, dir);
        final int src = FlowTuple.srcAddress(a);
        final int dst = FlowTuple.dstAddress(a);
        switch (FlowTuple.protocol(b))
        {
            case Ipv4Header.PROTO_TCP:
                return pb.tcp(0, src, FlowTuple.srcPort(b), dst, FlowTuple.dstPort(b), TcpHeader.ACK, 1001, 5001, 8);
            case Ipv4Header.PROTO_UDP:
                return pb.udp(0, src, FlowTuple.srcPort(b), dst, FlowTuple.dstPort(b), 8);
            default:
                return FlowTuple.srcPort(b) != 0 ?
                    pb.icmpEcho(0, src, dst, IcmpHeader.ECHO_REQUEST, FlowTuple.srcPort(b), 2, 8) :
                    pb.icmpEcho(0, src, dst, IcmpHeader.ECHO_REPLY, FlowTuple.dstPort(b), 2, 8);
        }
    }

    /** A packet of every live connection in both directions, as it arrives at the gateway. */
    private List<byte[]> livePackets()
    {
        final List<byte[]> live = new ArrayList<>();
        for (int entry = 0; entry < CAPACITY; entry++)
        {
            if (StatusDescriptor.phase(table.status(entry)) == StatusDescriptor.PHASE_CONFIRMED)
            {
                for (int dir = ConntrackTable.ORIGINAL; dir <= ConntrackTable.REPLY; dir++)
                {
                    final byte[] bytes = new byte[tuplePacket(entry, dir)];
                    pb.buffer().getBytes(0, bytes);
                    live.add(bytes);
                }
            }
        }
        return live;
    }

    // ------------------------------------------------------------------ input

    /** Builds one input packet after the virtio-net header (zeroed) of {@code buffer}; returns its length. */
    private int packet(final FuzzedDataProvider data, final List<byte[]> live, final MutableDirectBuffer buffer)
    {
        buffer.setMemory(0, vnetLength, (byte)0);
        final int at = vnetLength;
        switch (data.consumeInt(0, 4))
        {
            case 0:
            {
                final byte[] raw = data.consumeBytes(BUFFER_LENGTH - QUOTE_AT);
                buffer.putBytes(at, raw);
                return raw.length;
            }
            case 1:
            {
                final OddPackets.Kind kind = data.pickValue(OddPackets.Kind.values());
                final int length = Math.min(odd.build(kind, new SplittableRandom(data.consumeLong()), data.pickValue(ADDRESSES),
                    data.pickValue(ADDRESSES)), BUFFER_LENGTH - at);
                buffer.putBytes(at, odd.buffer(), 0, length);
                return mutate(data, buffer, at, length);
            }
            case 2:
            {
                final byte[] bytes = data.pickValue(live);
                buffer.putBytes(at, bytes);
                return mutate(data, buffer, at, bytes.length);
            }
            case 4:
            {
                // a fragment of a larger datagram of a live flow (one of a few IP ids, so trains meet)
                final int length = fragment(data, data.pickValue(live));
                buffer.putBytes(at, pb.buffer(), 0, length);
                return mutate(data, buffer, at, length);
            }
            default:
            {
                // an ICMP error about a live packet, sent back toward its source by either side
                final byte[] quoted = data.pickValue(live);
                pb.buffer().putBytes(QUOTE_AT, quoted);
                final int quotedSrc = pb.buffer().getInt(QUOTE_AT + Ipv4Header.SRC_ADDRESS_OFFSET, ByteOrder.BIG_ENDIAN);
                final int quotedDst = pb.buffer().getInt(QUOTE_AT + Ipv4Header.DST_ADDRESS_OFFSET, ByteOrder.BIG_ENDIAN);
                final int length = pb.icmpError(0, data.consumeBoolean() ? quotedDst : data.pickValue(ADDRESSES), quotedSrc,
                    data.consumeInt(0, 18), data.consumeInt(0, 15), QUOTE_AT, data.consumeInt(0, quoted.length));
                buffer.putBytes(at, pb.buffer(), 0, length);
                return mutate(data, buffer, at, length);
            }
        }
    }

    /** Builds a datagram of the live packet's flow, larger, cuts it at a fuzzed MTU, and leaves one fragment at 0. */
    private int fragment(final FuzzedDataProvider data, final byte[] livePacket)
    {
        final UnsafeBuffer packet = new UnsafeBuffer(livePacket);
        final int src = packet.getInt(Ipv4Header.SRC_ADDRESS_OFFSET, ByteOrder.BIG_ENDIAN);
        final int dst = packet.getInt(Ipv4Header.DST_ADDRESS_OFFSET, ByteOrder.BIG_ENDIAN);
        final int word = packet.getInt(Ipv4Header.MIN_LENGTH, ByteOrder.BIG_ENDIAN);
        final int payload = data.consumeInt(1, 3000);
        pb.identification(data.consumeInt(1, 3));
        switch (packet.getByte(Ipv4Header.PROTOCOL_OFFSET))
        {
            case Ipv4Header.PROTO_TCP:
                pb.tcp(0, src, word >>> 16, dst, word & 0xFFFF, TcpHeader.ACK, 1001, 5001, payload);
                break;
            case Ipv4Header.PROTO_UDP:
                pb.udp(0, src, word >>> 16, dst, word & 0xFFFF, payload);
                break;
            default:
                pb.icmpEcho(0, src, dst, word >>> 24, packet.getShort(Ipv4Header.MIN_LENGTH + 4, ByteOrder.BIG_ENDIAN) & 0xFFFF, 3,
                    payload);
                break;
        }
        final int count = pb.fragment(0, BUFFER_LENGTH, data.consumeInt(96, 1500), fragmentOffsets, fragmentLengths);
        final int k = data.consumeInt(0, count - 1);
        pb.buffer().putBytes(0, pb.buffer(), fragmentOffsets[k], fragmentLengths[k]);
        return fragmentLengths[k];
    }

    /** Changes a few bytes and maybe the length, then maybe makes the checksums valid again; returns the length. */
    private int mutate(final FuzzedDataProvider data, final MutableDirectBuffer buffer, final int at, final int length)
    {
        int newLength = length;
        final int changes = data.consumeInt(0, 4);
        for (int k = 0; k < changes && newLength > 0; k++)
        {
            buffer.putByte(at + data.consumeInt(0, newLength - 1), data.consumeByte());
        }
        if (data.consumeInt(0, 7) == 0)
        {
            newLength = data.consumeInt(0, Math.min(length + 64, BUFFER_LENGTH - at));
        }
        if (data.consumeBoolean())
        {
            fixChecksums(buffer, at, newLength);
        }
        return newLength;
    }

    private void fixChecksums(final MutableDirectBuffer buffer, final int at, final int length)
    {
        if (length < Ipv4Header.MIN_LENGTH)
        {
            return;
        }
        ip.wrap(buffer, at);
        final int ihl = ip.headerLength();
        if (ip.version() != 4 || ihl < Ipv4Header.MIN_LENGTH || ihl > length)
        {
            return;
        }
        ip.computeChecksum();
        final int l4Length = Math.min(ip.totalLength(), length) - ihl;
        final int l4 = at + ihl;
        switch (ip.protocol())
        {
            case Ipv4Header.PROTO_TCP:
                if (l4Length >= TcpHeader.MIN_LENGTH)
                {
                    tcp.wrap(buffer, l4).computeChecksum(ip.srcAddress(), ip.dstAddress(), l4Length);
                }
                break;
            case Ipv4Header.PROTO_UDP:
                if (l4Length >= UdpHeader.LENGTH && udp.wrap(buffer, l4).length() <= l4Length && udp.length() >= UdpHeader.LENGTH)
                {
                    udp.computeChecksum(ip.srcAddress(), ip.dstAddress());
                }
                break;
            case Ipv4Header.PROTO_ICMP:
                if (l4Length >= IcmpHeader.HEADER_LENGTH)
                {
                    icmp.wrap(buffer, l4).computeChecksum(l4Length);
                }
                break;
            default:
                break;
        }
    }

    /**
     * Moves the clock, never past {@link #MAX_ELAPSED_NS} from the start: deadlines are milliseconds that wrap after
     * 24.8 days as jiffies do, and with no reaper here (the gateway's ends expired entries every second) an entry
     * left 25 days past its deadline would read as alive again.
     */
    private void step(final FuzzedDataProvider data)
    {
        final long stepNs = data.consumeInt(0, 7) == 0 ? data.consumeLong(0, 10L * 24 * 3600 * 1_000_000_000L) : data.consumeInt(0, 100_000_000);
        nowNs = Math.min(nowNs + stepNs, START_NS + MAX_ELAPSED_NS);
    }

    // ------------------------------------------------------------------ oracles

    private void checkOutput(final int i)
    {
        if (verdicts[i] != Pipeline.FORWARD)
        {
            return;
        }
        final MutableDirectBuffer out = buffers[i];
        final int length = outputLengths[i] - vnetLength;
        if (length < Ipv4Header.MIN_LENGTH || (out.getByte(vnetLength) & 0xF0) != 0x40)
        {
            return;
        }
        final int src = out.getInt(vnetLength + Ipv4Header.SRC_ADDRESS_OFFSET, ByteOrder.BIG_ENDIAN);
        final int dst = out.getInt(vnetLength + Ipv4Header.DST_ADDRESS_OFFSET, ByteOrder.BIG_ENDIAN);
        if (snat.isInside(src) && !snat.isInside(dst))
        {
            throw new AssertionError("forwarded with an inside source toward the outside: " +
                FlowTuple.addressToString(src) + " -> " + FlowTuple.addressToString(dst) + ", protocol " +
                (out.getByte(vnetLength + Ipv4Header.PROTOCOL_OFFSET) & 0xFF) + ", " + length + " bytes");
        }
    }

    /** Fragments released by the last call: the same oracle as for forwarded packets. */
    private void checkReleased()
    {
        for (int r = 0; r < pipeline.releasedCount(); r++)
        {
            final MutableDirectBuffer out = pipeline.releasedBuffer(r);
            final int src = out.getInt(vnetLength + Ipv4Header.SRC_ADDRESS_OFFSET, ByteOrder.BIG_ENDIAN);
            final int dst = out.getInt(vnetLength + Ipv4Header.DST_ADDRESS_OFFSET, ByteOrder.BIG_ENDIAN);
            if (snat.isInside(src) && !snat.isInside(dst))
            {
                throw new AssertionError("released a fragment with an inside source toward the outside: " +
                    FlowTuple.addressToString(src) + " -> " + FlowTuple.addressToString(dst));
            }
        }
    }

    /** Past the fragment timeout and a full sweep, nothing is held: no train leaks a buffer. */
    private void checkFragmentsExpire()
    {
        nowNs += (FRAGMENT_TIMEOUT_MS + 1000) * 1_000_000L;
        for (int sweep = 0; sweep <= fragments.capacity(); sweep++)
        {
            nowNs += Fragments.SWEEP_INTERVAL_MS * 1_000_000L;
            pipeline.expireFragments(nowNs);
        }
        pipeline.process(buffers[0], 0, 0, nowNs); // gives back the buffers of the last released fragments
        if (fragments.held() != 0)
        {
            throw new AssertionError(fragments.held() + " fragment buffers still in use after the timeout");
        }
    }

    private void checkTable()
    {
        final String violation = ConntrackConsistency.check(table, snat, table.toTableMs(nowNs), MAX_TIMEOUT_MS);
        if (violation != null)
        {
            throw new AssertionError("table inconsistent: " + violation);
        }
    }
}
