package natgw.core.packet;

import java.nio.ByteOrder;
import java.util.SplittableRandom;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * Malformed and unusual IPv4 packets, one {@link Kind} per class of oddity: the seeds of the pipeline's fuzzer and
 * the flood of the escape test, so both cover the same classes. Built at offset 0 of a {@link PacketBuilder}'s
 * buffer; for tests, fuzzers and floods, never the forwarding path.
 */
public final class OddPackets
{
    /** Where a quoted packet is built before an ICMP error copies it (far past any packet built at 0). */
    private static final int SCRATCH = 32768;
    private static final int MAX_PAYLOAD = 1400;
    private static final int[] ICMP_ERROR_TYPES = {
        IcmpHeader.DEST_UNREACHABLE, IcmpHeader.SOURCE_QUENCH, 5, IcmpHeader.TIME_EXCEEDED, IcmpHeader.PARAMETER_PROBLEM};
    private static final int[] ODD_ICMP_TYPES = {6, 9, 10, 13, 14, 15, 16, 17, 18, 30, 40, 42, 43, 255};
    private static final int[] OTHER_PROTOCOLS = {0, 2, 4, 41, 47, 50, 51, 89, 132, 136, 255};
    private static final int[] ODD_ADDRESSES = {
        0, 0xFFFFFFFF, 0x7F000001, 0xE0000001, 0xEFFFFFFA, 0xA9FE0001, 0x0A4D01FF, 0x0A4D0100};

    /** A class of oddity. */
    public enum Kind
    {
        /** Bytes of any value and length, the IP version nibble included. */
        RANDOM_BYTES,
        /** A well-formed packet with one IPv4 header field wrong: version, header length, total length, checksum. */
        BAD_IP_HEADER,
        /** A well-formed packet cut short anywhere, its headers still claiming the full length. */
        TRUNCATED,
        /** A header with options (IHL 6 to 15), the options of any bytes. */
        IP_OPTIONS,
        /** A first, middle or last fragment, or a fragment offset on a short packet. */
        FRAGMENT,
        /** A TCP, UDP or ICMP packet whose checksum is wrong. */
        BAD_L4_CHECKSUM,
        /** TCP data offset or UDP length that contradicts the packet. */
        BAD_L4_LENGTH,
        /** TCP with any flags (none, all, SYN+FIN, RST+ACK...), ports 0 included. */
        TCP_ODD_FLAGS,
        /** An ICMP error from the source quoting a flow no connection knows (TCP, UDP, ICMP, truncated quotes). */
        ICMP_ERROR_UNKNOWN_FLOW,
        /** An ICMP error quoting bytes that are no packet, or an ICMP error. */
        ICMP_ERROR_GARBAGE,
        /** ICMP types other than echo and the errors: timestamp, information, address mask, router advert. */
        ICMP_ODD_TYPE,
        /** Protocols natgw does not translate: IGMP, IP-in-IP, GRE, ESP, AH, SCTP, UDP-Lite, reserved. */
        OTHER_PROTOCOL,
        /** Broadcast, multicast, loopback, zero, link-local or subnet-edge destinations. */
        ODD_DESTINATION,
        /** TTL 0 or 1. */
        EXPIRING_TTL
    }

    private final PacketBuilder pb;
    private final UnsafeBuffer buffer;
    private final Ipv4Header ip = new Ipv4Header();
    private final TcpHeader tcp = new TcpHeader();
    private final UdpHeader udp = new UdpHeader();

    public OddPackets(final PacketBuilder pb)
    {
        this.pb = pb;
        this.buffer = pb.buffer();
    }

    /** The buffer the packets are built in, at offset 0. */
    public UnsafeBuffer buffer()
    {
        return buffer;
    }

    /**
     * Builds one packet of {@code kind} from {@code src} toward {@code dst} at offset 0 of the buffer.
     *
     * @return its length.
     */
    public int build(final Kind kind, final SplittableRandom random, final int src, final int dst)
    {
        pb.ttl(64).identification(random.nextInt(0x10000)); // all from the seed: a packet is rebuilt from it
        switch (kind)
        {
            case RANDOM_BYTES:
            {
                final int length = random.nextInt(MAX_PAYLOAD + Ipv4Header.MIN_LENGTH);
                for (int i = 0; i < length; i++)
                {
                    buffer.putByte(i, (byte)random.nextInt(256));
                }
                if (length >= Ipv4Header.DST_ADDRESS_OFFSET + 4 && random.nextBoolean())
                {
                    buffer.putInt(Ipv4Header.SRC_ADDRESS_OFFSET, src, ByteOrder.BIG_ENDIAN);
                    buffer.putInt(Ipv4Header.DST_ADDRESS_OFFSET, dst, ByteOrder.BIG_ENDIAN);
                }
                return length;
            }
            case BAD_IP_HEADER:
            {
                final int length = wellFormed(random, src, dst);
                ip.wrap(buffer, 0);
                switch (random.nextInt(4))
                {
                    case 0:
                    {
                        final int version = random.nextInt(15); // any but 4
                        ip.versionAndHeaderLength(version >= 4 ? version + 1 : version, ip.headerLength());
                        break;
                    }
                    case 1:
                        buffer.putByte(0, (byte)(0x40 | random.nextInt(5)));
                        break;
                    case 2:
                        ip.totalLength(random.nextBoolean() ? random.nextInt(Ipv4Header.MIN_LENGTH) : length + 1 + random.nextInt(100));
                        break;
                    default:
                        ip.computeChecksum();
                        ip.checksum(ip.checksum() ^ (1 + random.nextInt(0xFFFF)));
                        return length;
                }
                ip.computeChecksum();
                return length;
            }
            case TRUNCATED:
                return random.nextInt(wellFormed(random, src, dst));
            case IP_OPTIONS:
                return withOptions(wellFormed(random, src, dst), random);
            case FRAGMENT:
            {
                final int length = wellFormed(random, src, dst);
                final int[] flags = {Ipv4Header.FLAG_MF, Ipv4Header.FLAG_MF | 1 + random.nextInt(100), 1 + random.nextInt(8190),
                    Ipv4Header.FLAG_DF | Ipv4Header.FLAG_MF};
                ip.wrap(buffer, 0).flagsAndFragmentOffset(flags[random.nextInt(flags.length)]).computeChecksum();
                return length;
            }
            case BAD_L4_CHECKSUM:
            {
                final int length = wellFormed(random, src, dst);
                final int checksumAt = l4ChecksumOffset();
                buffer.putShort(checksumAt, (short)(buffer.getShort(checksumAt) ^ 1 + random.nextInt(0xFFFF)));
                return length;
            }
            case BAD_L4_LENGTH:
            {
                if (random.nextBoolean())
                {
                    final int length = pb.tcp(0, src, port(random), dst, port(random), TcpHeader.ACK, random.nextInt(), 0,
                        random.nextInt(64));
                    buffer.putByte(Ipv4Header.MIN_LENGTH + TcpHeader.DATA_OFFSET_OFFSET, (byte)(random.nextInt(16) << 4));
                    tcp.wrap(buffer, Ipv4Header.MIN_LENGTH).computeChecksum(src, dst, length - Ipv4Header.MIN_LENGTH);
                    return length;
                }
                final int length = pb.udp(0, src, port(random), dst, port(random), random.nextInt(64));
                udp.wrap(buffer, Ipv4Header.MIN_LENGTH).length(random.nextInt(0x10000));
                return length;
            }
            case TCP_ODD_FLAGS:
                return pb.tcp(0, src, random.nextInt(8) == 0 ? 0 : port(random), dst, random.nextInt(8) == 0 ? 0 : port(random),
                    random.nextInt(256), random.nextInt(), random.nextInt(), random.nextInt(32));
            case ICMP_ERROR_UNKNOWN_FLOW:
            {
                // the quoted packet went dst -> src: what src would have received from the outside
                final int quotedLength = quoted(random, dst, src);
                final int quoted = random.nextBoolean() ? quotedLength : Math.min(quotedLength, Ipv4Header.MIN_LENGTH + 8);
                return icmpError(random, src, dst, quoted);
            }
            case ICMP_ERROR_GARBAGE:
            {
                final int quotedLength = random.nextInt(MAX_PAYLOAD);
                for (int i = 0; i < quotedLength; i++)
                {
                    buffer.putByte(SCRATCH + i, (byte)random.nextInt(256));
                }
                if (quotedLength > 0 && random.nextBoolean())
                {
                    buffer.putByte(SCRATCH, (byte)0x45);
                }
                return icmpError(random, src, dst, quotedLength);
            }
            case ICMP_ODD_TYPE:
                return pb.icmpEcho(0, src, dst, ODD_ICMP_TYPES[random.nextInt(ODD_ICMP_TYPES.length)], port(random),
                    random.nextInt(0x10000), random.nextInt(64));
            case OTHER_PROTOCOL:
            {
                final int length = pb.udp(0, src, port(random), dst, port(random), random.nextInt(256));
                ip.wrap(buffer, 0).protocol(OTHER_PROTOCOLS[random.nextInt(OTHER_PROTOCOLS.length)]).computeChecksum();
                return length;
            }
            case ODD_DESTINATION:
                return wellFormed(random, src, ODD_ADDRESSES[random.nextInt(ODD_ADDRESSES.length)]);
            case EXPIRING_TTL:
                pb.ttl(random.nextInt(2));
                return wellFormed(random, src, dst);
            default:
                throw new IllegalArgumentException(kind.name());
        }
    }

    /** A well-formed TCP, UDP or ICMP echo packet at 0. */
    private int wellFormed(final SplittableRandom random, final int src, final int dst)
    {
        return wellFormedAt(0, random, src, dst);
    }

    private int wellFormedAt(final int offset, final SplittableRandom random, final int src, final int dst)
    {
        final int payload = random.nextInt(8) == 0 ? random.nextInt(MAX_PAYLOAD) : random.nextInt(64);
        switch (random.nextInt(3))
        {
            case 0:
                return pb.tcp(offset, src, port(random), dst, port(random), TcpHeader.SYN, random.nextInt(), 0, payload);
            case 1:
                return pb.udp(offset, src, port(random), dst, port(random), payload);
            default:
                return pb.icmpEcho(offset, src, dst, IcmpHeader.ECHO_REQUEST, port(random), random.nextInt(0x10000), payload);
        }
    }

    /** A packet to quote, built at {@link #SCRATCH}; returns its length. */
    private int quoted(final SplittableRandom random, final int src, final int dst)
    {
        return wellFormedAt(SCRATCH, random, src, dst);
    }

    private int icmpError(final SplittableRandom random, final int src, final int dst, final int quotedLength)
    {
        final int type = ICMP_ERROR_TYPES[random.nextInt(ICMP_ERROR_TYPES.length)];
        return pb.icmpError(0, src, dst, type, random.nextInt(16), SCRATCH, quotedLength);
    }

    /** Moves the payload of the packet at 0 to make room for options of random bytes; returns the new length. */
    private int withOptions(final int length, final SplittableRandom random)
    {
        final int optionLength = 4 * (1 + random.nextInt(10));
        if (length + optionLength > SCRATCH)
        {
            return length;
        }
        buffer.putBytes(Ipv4Header.MIN_LENGTH + optionLength, buffer, Ipv4Header.MIN_LENGTH, length - Ipv4Header.MIN_LENGTH);
        for (int i = 0; i < optionLength; i++)
        {
            buffer.putByte(Ipv4Header.MIN_LENGTH + i, (byte)random.nextInt(256));
        }
        ip.wrap(buffer, 0).versionAndHeaderLength(4, Ipv4Header.MIN_LENGTH + optionLength)
            .totalLength(length + optionLength).computeChecksum();
        return length + optionLength;
    }

    private int l4ChecksumOffset()
    {
        switch (ip.wrap(buffer, 0).protocol())
        {
            case Ipv4Header.PROTO_TCP:
                return Ipv4Header.MIN_LENGTH + TcpHeader.CHECKSUM_OFFSET;
            case Ipv4Header.PROTO_UDP:
                return Ipv4Header.MIN_LENGTH + UdpHeader.CHECKSUM_OFFSET;
            default:
                return Ipv4Header.MIN_LENGTH + IcmpHeader.CHECKSUM_OFFSET;
        }
    }

    private static int port(final SplittableRandom random)
    {
        return 1 + random.nextInt(0xFFFF);
    }
}
