package natgw.core.packet;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import static natgw.core.flow.FlowTuple.parseAddress;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OddPacketsTest
{
    private static final int SRC = parseAddress("10.77.1.2");
    private static final int DST = parseAddress("203.0.113.9");
    private static final int ROUNDS = 500;

    private final OddPackets odd = new OddPackets(new PacketBuilder());
    private final Ipv4Header ip = new Ipv4Header();
    private final SplittableRandom random = new SplittableRandom(1);

    private int build(final OddPackets.Kind kind)
    {
        final int length = odd.build(kind, random, SRC, DST);
        assertTrue(length >= 0 && length < 32768, kind + ": " + length);
        ip.wrap(odd.buffer(), 0);
        return length;
    }

    @Test
    void shouldBuildEveryKindWithinTheBuffer()
    {
        for (final OddPackets.Kind kind : OddPackets.Kind.values())
        {
            for (int i = 0; i < ROUNDS; i++)
            {
                build(kind);
            }
        }
    }

    @Test
    void shouldBuildWhatEachKindNames()
    {
        for (int i = 0; i < ROUNDS; i++)
        {
            final int truncated = build(OddPackets.Kind.TRUNCATED);
            assertTrue(truncated < ip.totalLength() || truncated < Ipv4Header.MIN_LENGTH);

            build(OddPackets.Kind.IP_OPTIONS);
            assertTrue(ip.headerLength() > Ipv4Header.MIN_LENGTH && ip.isChecksumValid());

            build(OddPackets.Kind.FRAGMENT);
            assertTrue(ip.isFragment() && ip.isChecksumValid());

            build(OddPackets.Kind.EXPIRING_TTL);
            assertTrue(ip.ttl() <= 1);

            build(OddPackets.Kind.OTHER_PROTOCOL);
            assertTrue(ip.protocol() != Ipv4Header.PROTO_TCP && ip.protocol() != Ipv4Header.PROTO_UDP &&
                ip.protocol() != Ipv4Header.PROTO_ICMP);

            build(OddPackets.Kind.ICMP_ERROR_UNKNOWN_FLOW);
            assertEquals(Ipv4Header.PROTO_ICMP, ip.protocol());
            assertEquals(SRC, ip.srcAddress());
            final IcmpHeader icmp = new IcmpHeader().wrap(odd.buffer(), ip.payloadOffset());
            assertTrue(java.util.Set.of(3, 4, 5, 11, 12).contains(icmp.type()), "an error type, not " + icmp.type());
            final Ipv4Header quoted = new Ipv4Header().wrap(odd.buffer(), ip.payloadOffset() + IcmpHeader.EMBEDDED_OFFSET);
            assertEquals(SRC, quoted.dstAddress(), "quotes a packet the source received");

            final int bad = build(OddPackets.Kind.BAD_IP_HEADER);
            assertTrue(ip.version() != 4 || ip.headerLength() < Ipv4Header.MIN_LENGTH || ip.totalLength() != bad ||
                !ip.isChecksumValid(), "one header field wrong");
        }
    }

    @Test
    void shouldBeReproducibleFromTheSeed()
    {
        for (final OddPackets.Kind kind : OddPackets.Kind.values())
        {
            final int length = odd.build(kind, new SplittableRandom(99), SRC, DST);
            final byte[] first = new byte[length];
            odd.buffer().getBytes(0, first);
            assertEquals(length, odd.build(kind, new SplittableRandom(99), SRC, DST));
            final byte[] second = new byte[length];
            odd.buffer().getBytes(0, second);
            assertEquals(java.util.HexFormat.of().formatHex(first), java.util.HexFormat.of().formatHex(second), kind.name());
        }
    }
}
