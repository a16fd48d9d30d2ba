package natgw.core.pipeline;

import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.Timeouts;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.nat.Cidr;
import natgw.core.nat.NatAllocator;
import natgw.core.nat.PortStrategy;
import natgw.core.nat.SnatPolicy;
import natgw.core.packet.DropReason;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.PacketBuilder;
import natgw.core.packet.TcpHeader;
import natgw.core.packet.UdpHeader;

import static natgw.core.flow.FlowTuple.parseAddress;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The pipeline validates the fixed headers from whole words ({@code Validation.parse}); the header flyweights
 * validate field by field. On mutated TCP and UDP packets both must give the same drop reason, or both none.
 */
class PipelineValidationTest
{
    private static final int CLIENT = parseAddress("10.77.1.2");
    private static final int SERVER = parseAddress("203.0.113.9");
    private static final EnumSet<DropReason> VALIDATION = EnumSet.of(
        DropReason.TRUNCATED, DropReason.BAD_VERSION, DropReason.BAD_HEADER_LENGTH, DropReason.BAD_TOTAL_LENGTH,
        DropReason.BAD_HEADER_CHECKSUM, DropReason.TTL_EXPIRED, DropReason.BAD_L4_LENGTH,
        DropReason.BAD_L4_CHECKSUM);

    /** {@link #flyweightVerdict} for a packet mutated into another protocol, or into a fragment: not compared. */
    private static final DropReason OTHER_PROTOCOL = DropReason.UNSUPPORTED_PROTOCOL;

    private final ConntrackTable table = new ConntrackTable(1 << 16, 0);
    private final WorkerCounters counters = new WorkerCounters(0);
    private final Pipeline pipeline = new Pipeline(
        table, new NatAllocator(table, PortStrategy.RESERVE, counters, 0, true, 7),
        new SnatPolicy(List.of(Cidr.parse("10.0.0.0/8")), new int[]{ parseAddress("198.51.100.1") }, 1024, 65535),
        new Timeouts(), counters, true);
    private final PacketBuilder builder = new PacketBuilder();

    @Test
    void shouldDropMutatedPacketsForTheReasonTheHeaderFlyweightsGive()
    {
        final byte[][] templates = {
            packet(builder.tcp(0, CLIENT, 40000, SERVER, 443, TcpHeader.ACK, 1, 1, 0)),
            packet(builder.tcp(0, CLIENT, 40001, SERVER, 443, TcpHeader.ACK | TcpHeader.PSH, 1, 1, 33)),
            packet(builder.tcp(0, SERVER, 443, CLIENT, 40002, TcpHeader.SYN, 1, 0, 0)),
            withIpOptions(packet(builder.tcp(0, CLIENT, 40003, SERVER, 443, TcpHeader.SYN, 1, 0, 5))),
            packet(builder.udp(0, CLIENT, 5353, SERVER, 53, 0)),
            packet(builder.udp(0, CLIENT, 5354, SERVER, 53, 27)),
            withoutUdpChecksum(packet(builder.udp(0, CLIENT, 5355, SERVER, 53, 12))),
            withIpOptions(packet(builder.udp(0, CLIENT, 5356, SERVER, 53, 9))),
        };
        final SplittableRandom random = new SplittableRandom(1071);
        final Map<DropReason, Integer> seen = new EnumMap<>(DropReason.class);
        int passed = 0;
        long nowNs = 1_000_000_000L;
        for (int i = 0; i < 200_000; i++)
        {
            final byte[] bytes = mutate(templates[random.nextInt(templates.length)], random);
            final DropReason expected = flyweightVerdict(bytes);
            if (expected == OTHER_PROTOCOL)
            {
                continue;
            }
            final int verdict = pipeline.process(new UnsafeBuffer(bytes), 0, bytes.length, nowNs += 1000);
            if (expected != null)
            {
                assertEquals(expected.id(), verdict, () -> "for " + java.util.HexFormat.of().formatHex(bytes));
                seen.merge(expected, 1, Integer::sum);
            }
            else
            {
                assertFalse(verdict >= 0 && VALIDATION.contains(DropReason.get(verdict)),
                    () -> "valid to the flyweights, dropped as " + DropReason.get(verdict) + ": " + java.util.HexFormat.of().formatHex(bytes));
                passed++;
            }
        }
        assertEquals(VALIDATION, EnumSet.copyOf(seen.keySet()), "every validation reason was reached: " + seen);
        assertTrue(passed > 10_000, "only " + passed + " mutants passed validation");
    }

    /**
     * The checks of steps 1 and 2, field by field through the flyweights; null: a valid TCP or UDP packet,
     * {@link #OTHER_PROTOCOL}: valid IPv4 of another protocol.
     */
    private static DropReason flyweightVerdict(final byte[] bytes)
    {
        final int length = bytes.length;
        if (length < Ipv4Header.MIN_LENGTH)
        {
            return DropReason.TRUNCATED;
        }
        final UnsafeBuffer buffer = new UnsafeBuffer(bytes);
        final Ipv4Header ip = new Ipv4Header().wrap(buffer, 0);
        if (ip.version() != 4)
        {
            return DropReason.BAD_VERSION;
        }
        final int ihl = ip.headerLength();
        if (ihl < Ipv4Header.MIN_LENGTH || ihl > length)
        {
            return DropReason.BAD_HEADER_LENGTH;
        }
        final int totalLength = ip.totalLength();
        if (totalLength < ihl || totalLength > length)
        {
            return DropReason.BAD_TOTAL_LENGTH;
        }
        if (!ip.isChecksumValid())
        {
            return DropReason.BAD_HEADER_CHECKSUM;
        }
        if (ip.ttl() == 0)
        {
            return DropReason.TTL_EXPIRED;
        }
        if (ip.isFragment())
        {
            return OTHER_PROTOCOL; // a fragment takes the fragment path (FragmentsTest)
        }
        final int l4Length = totalLength - ihl;
        if (ip.protocol() == Ipv4Header.PROTO_TCP)
        {
            if (l4Length < TcpHeader.MIN_LENGTH)
            {
                return DropReason.BAD_L4_LENGTH;
            }
            final TcpHeader tcp = new TcpHeader().wrap(buffer, ihl);
            if (tcp.headerLength() < TcpHeader.MIN_LENGTH || tcp.headerLength() > l4Length)
            {
                return DropReason.BAD_L4_LENGTH;
            }
            return tcp.isChecksumValid(ip.srcAddress(), ip.dstAddress(), l4Length) ? null : DropReason.BAD_L4_CHECKSUM;
        }
        if (ip.protocol() == Ipv4Header.PROTO_UDP)
        {
            if (l4Length < UdpHeader.LENGTH)
            {
                return DropReason.BAD_L4_LENGTH;
            }
            final UdpHeader udp = new UdpHeader().wrap(buffer, ihl);
            if (udp.length() < UdpHeader.LENGTH || udp.length() > l4Length)
            {
                return DropReason.BAD_L4_LENGTH;
            }
            return udp.isChecksumValid(ip.srcAddress(), ip.dstAddress()) ? null : DropReason.BAD_L4_CHECKSUM;
        }
        return OTHER_PROTOCOL;
    }

    /** One to three mutations of header bytes, lengths or the whole; checksums made right again most of the time. */
    private static byte[] mutate(final byte[] template, final SplittableRandom random)
    {
        byte[] bytes = template.clone();
        final int mutations = 1 + random.nextInt(3);
        for (int m = 0; m < mutations; m++)
        {
            final int at = random.nextInt(Math.min(bytes.length, 48) + 1);
            switch (random.nextInt(5))
            {
                case 0: if (at < bytes.length) { bytes[at] ^= (byte)(1 << random.nextInt(8)); } break;
                case 1: if (at < bytes.length) { bytes[at] = (byte)random.nextInt(); } break;
                case 2: bytes = java.util.Arrays.copyOf(bytes, random.nextInt(bytes.length + 1)); break;
                case 3: bytes = java.util.Arrays.copyOf(bytes, bytes.length + 1 + random.nextInt(8)); break;
                default: break; // unchanged: the checksum fixes below alone
            }
        }
        if (random.nextInt(4) != 0)
        {
            fixChecksums(bytes, random.nextInt(3) != 0);
        }
        return bytes;
    }

    private static void fixChecksums(final byte[] bytes, final boolean l4Too)
    {
        if (bytes.length < Ipv4Header.MIN_LENGTH)
        {
            return;
        }
        final UnsafeBuffer buffer = new UnsafeBuffer(bytes);
        final Ipv4Header ip = new Ipv4Header().wrap(buffer, 0);
        final int ihl = ip.headerLength();
        if (ihl < Ipv4Header.MIN_LENGTH || ihl > bytes.length)
        {
            return;
        }
        final int totalLength = ip.totalLength();
        if (l4Too && totalLength <= bytes.length && totalLength >= ihl)
        {
            final int l4Length = totalLength - ihl;
            if (ip.protocol() == Ipv4Header.PROTO_TCP && l4Length >= TcpHeader.MIN_LENGTH)
            {
                new TcpHeader().wrap(buffer, ihl).computeChecksum(ip.srcAddress(), ip.dstAddress(), l4Length);
            }
            else if (ip.protocol() == Ipv4Header.PROTO_UDP && l4Length >= UdpHeader.LENGTH)
            {
                final UdpHeader udp = new UdpHeader().wrap(buffer, ihl);
                if (udp.length() >= UdpHeader.LENGTH && udp.length() <= l4Length && udp.checksum() != 0)
                {
                    udp.computeChecksum(ip.srcAddress(), ip.dstAddress());
                }
            }
        }
        ip.computeChecksum();
    }

    private byte[] packet(final int length)
    {
        final byte[] bytes = new byte[length];
        builder.buffer().getBytes(0, bytes);
        return bytes;
    }

    private static byte[] withoutUdpChecksum(final byte[] bytes)
    {
        new UdpHeader().wrap(new UnsafeBuffer(bytes), Ipv4Header.MIN_LENGTH).checksum(0);
        return bytes;
    }

    /** The packet with a 4-byte Router Alert option (RFC 2113) after its fixed header, checksums right. */
    private static byte[] withIpOptions(final byte[] packet)
    {
        final byte[] bytes = new byte[packet.length + 4];
        System.arraycopy(packet, 0, bytes, 0, Ipv4Header.MIN_LENGTH);
        System.arraycopy(packet, Ipv4Header.MIN_LENGTH, bytes, Ipv4Header.MIN_LENGTH + 4, packet.length - Ipv4Header.MIN_LENGTH);
        bytes[20] = (byte)0x94;
        bytes[21] = 4;
        final Ipv4Header ip = new Ipv4Header().wrap(new UnsafeBuffer(bytes), 0);
        ip.versionAndHeaderLength(4, 24).totalLength(bytes.length);
        fixChecksums(bytes, true);
        return bytes;
    }
}
