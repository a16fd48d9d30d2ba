package natgw.core.packet;

import java.util.SplittableRandom;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import natgw.core.testing.CapturedPacket;
import natgw.core.testing.ReferenceChecksum;

import static natgw.core.flow.FlowTuple.parseAddress;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChecksumTest
{
    private static final int CASES = 20_000;
    private static final int CHECKSUM_OFFSET = 10; // the field sits where the IPv4 header's does

    @Test
    void shouldMatchRfc1071NumericalExample()
    {
        // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to 2ddf0, folds to ddf2
        // (the accumulator may add 32-bit words: only its folded value is defined)
        final UnsafeBuffer buffer = new UnsafeBuffer(CapturedPacket.hexToBytes("0001 f203 f4f5 f6f7"));
        assertEquals(~0xddf2 & 0xFFFF, Checksum.finish(Checksum.sum(buffer, 0, 8, 0)));
        assertEquals(~0xddf2 & 0xFFFF, Checksum.compute(buffer, 0, 8));
        assertEquals(~0xddf2 & 0xFFFF, Checksum.finish(0x2ddf0L));
    }

    @Test
    void shouldComputeClassicIpv4HeaderChecksum()
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(CapturedPacket.hexToBytes("4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7"));
        assertEquals(0xb861, Checksum.compute(buffer, 0, 20));
        buffer.putShort(CHECKSUM_OFFSET, (short)0xb861, java.nio.ByteOrder.BIG_ENDIAN);
        assertEquals(0, Checksum.compute(buffer, 0, 20), "a region holding its correct checksum computes to 0");
    }

    @Test
    void shouldPadOddTrailingByteWithZero()
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(CapturedPacket.hexToBytes("0102 03"));
        assertEquals(~0x0402 & 0xFFFF, Checksum.finish(Checksum.sum(buffer, 0, 3, 0)));
        assertEquals(0xfbfd, Checksum.compute(buffer, 0, 3));
        assertEquals(0xfeff, Checksum.compute(buffer, 0, 1));
        assertEquals(0xffff, Checksum.compute(buffer, 0, 0));
    }

    @Test
    void shouldMatchReferenceForEveryLengthAndAlignment()
    {
        final SplittableRandom random = new SplittableRandom(1071);
        final byte[] bytes = new byte[1600];
        for (int i = 0; i < bytes.length; i++)
        {
            bytes[i] = (byte)random.nextInt();
        }
        final UnsafeBuffer buffer = new UnsafeBuffer(bytes);
        for (int offset = 0; offset < 8; offset++)
        {
            for (int length = 0; length < 1500; length += offset + 1)
            {
                assertEquals(ReferenceChecksum.checksum(bytes, offset, length), Checksum.compute(buffer, offset, length),
                    "offset " + offset + " length " + length);
            }
        }
        final byte[] ones = new byte[1500];
        java.util.Arrays.fill(ones, (byte)0xFF);
        assertEquals(ReferenceChecksum.checksum(ones, 0, 1499), Checksum.compute(new UnsafeBuffer(ones), 0, 1499));
        assertEquals(0, Checksum.compute(new UnsafeBuffer(ones), 0, 1500));
    }

    @Test
    void shouldValidateExactlyTheRegionsThatHoldTheirChecksum()
    {
        // every length and alignment, with and without a pseudo header: a region made valid by writing its
        // checksum into it is accepted, the same region with any one bit flipped is refused, as by compute()
        final SplittableRandom random = new SplittableRandom(1624);
        final byte[] bytes = new byte[256];
        final UnsafeBuffer buffer = new UnsafeBuffer(bytes);
        for (int offset = 0; offset < 8; offset++)
        {
            for (int length = 2; length < 200; length++)
            {
                for (int i = 0; i < bytes.length; i++)
                {
                    bytes[i] = (byte)random.nextInt();
                }
                final long pseudo = length % 3 == 0 ? 0 : Checksum.pseudoHeaderSum(random.nextInt(), random.nextInt(), 6, length);
                bytes[offset] = 0;
                bytes[offset + 1] = 0;
                final int checksum = Checksum.finish(Checksum.sum(buffer, offset, length, pseudo));
                buffer.putShort(offset, (short)checksum, java.nio.ByteOrder.BIG_ENDIAN);
                final String region = "offset " + offset + " length " + length;
                assertTrue(Checksum.isValid(buffer, offset, length, pseudo), region);
                assertEquals(0, Checksum.finish(Checksum.sum(buffer, offset, length, pseudo)), region);
                final int bit = random.nextInt(length * 8);
                bytes[offset + bit / 8] ^= (byte)(1 << (bit % 8));
                assertEquals(Checksum.finish(Checksum.sum(buffer, offset, length, pseudo)) == 0,
                    Checksum.isValid(buffer, offset, length, pseudo), region + " bit " + bit);
                assertFalse(Checksum.isValid(buffer, offset, length, pseudo), region + " bit " + bit);
            }
        }
        assertFalse(Checksum.isValid(buffer, 0, 0, 0), "an empty region sums to 0, not all ones");
        java.util.Arrays.fill(bytes, (byte)0xFF);
        assertTrue(Checksum.isValid(buffer, 0, 20, 0));
        assertThrows(IndexOutOfBoundsException.class, () -> Checksum.isValid(buffer, 250, 20, 0));
    }

    @Test
    void shouldVerifyEveryCapturedChecksum()
    {
        for (final String name : new String[]{ "tcp-syn", "tcp-synack", "tcp-data", "udp-datagram", "icmp-echo-request",
            "icmp-echo-reply", "icmp-port-unreachable", "icmp-time-exceeded-echo", "icmp-time-exceeded-tcp", "icmp-frag-needed" })
        {
            final byte[] packet = CapturedPacket.bytes(name);
            final UnsafeBuffer buffer = new UnsafeBuffer(packet);
            assertEquals(0, Checksum.compute(buffer, 0, 20), name + " IPv4 header");
            final int l4Length = packet.length - 20;
            final int protocol = packet[9];
            final long initial = protocol == Ipv4Header.PROTO_ICMP ? 0 :
                Checksum.pseudoHeaderSum(buffer.getInt(12, java.nio.ByteOrder.BIG_ENDIAN),
                    buffer.getInt(16, java.nio.ByteOrder.BIG_ENDIAN), protocol, l4Length);
            assertEquals(0, Checksum.finish(Checksum.sum(buffer, 20, l4Length, initial)), name + " transport");
        }
    }

    @Test
    void shouldSumPseudoHeaderOfHighAddresses()
    {
        final int src = parseAddress("255.255.255.254");
        final int dst = parseAddress("192.168.0.1");
        final byte[] pseudo = CapturedPacket.hexToBytes("ffff fffe c0a8 0001 0006 ffff");
        assertEquals(ReferenceChecksum.onesComplementSum(pseudo, 0, 12, 0),
            ~Checksum.finish(Checksum.pseudoHeaderSum(src, dst, 6, 0xffff)) & 0xFFFF);
    }

    @Test
    void shouldAdjustSixteenBitFieldLikeFullRecompute()
    {
        final SplittableRandom random = new SplittableRandom(1624);
        for (int i = 0; i < CASES; i++)
        {
            final byte[] data = randomRegion(random);
            final int length = data.length;
            final int fieldOffset = randomWordOffset(random, length, 2);
            final int oldWord = ReferenceChecksum.field(data, fieldOffset);
            final int oldChecksum = ReferenceChecksum.field(data, CHECKSUM_OFFSET);
            final int newWord = newWord(random, data, fieldOffset, oldWord);
            putWord(data, fieldOffset, newWord);
            final int expected = ReferenceChecksum.expected(data, 0, length, CHECKSUM_OFFSET, 0);
            assertEquals(hex(expected), hex(Checksum.adjust(oldChecksum, oldWord, newWord)),
                describe(i, data, fieldOffset, oldWord, newWord, oldChecksum));
            assertEquals(hex(expected), hex(Checksum.applyDelta(oldChecksum, Checksum.delta16(oldWord, newWord))),
                "delta16: " + describe(i, data, fieldOffset, oldWord, newWord, oldChecksum));
        }
    }

    @Test
    void shouldAdjustThirtyTwoBitFieldLikeFullRecompute()
    {
        final SplittableRandom random = new SplittableRandom(791);
        for (int i = 0; i < CASES; i++)
        {
            final byte[] data = randomRegion(random);
            final int length = data.length;
            final int fieldOffset = randomWordOffset(random, length, 4);
            final int oldValue = ReferenceChecksum.field(data, fieldOffset) << 16 | ReferenceChecksum.field(data, fieldOffset + 2);
            final int oldChecksum = ReferenceChecksum.field(data, CHECKSUM_OFFSET);
            final int newValue = newWord(random, data, fieldOffset, oldValue >>> 16) << 16 |
                edgyWord(random, oldValue & 0xFFFF);
            putWord(data, fieldOffset, newValue >>> 16);
            putWord(data, fieldOffset + 2, newValue & 0xFFFF);
            final int expected = ReferenceChecksum.expected(data, 0, length, CHECKSUM_OFFSET, 0);
            assertEquals(hex(expected), hex(Checksum.adjust32(oldChecksum, oldValue, newValue)), "case " + i);
            assertEquals(hex(expected), hex(Checksum.applyDelta(oldChecksum, Checksum.delta32(oldValue, newValue))), "case " + i);
        }
    }

    @Test
    void shouldApplySummedDeltasOfSeveralFieldsLikeFullRecompute()
    {
        // as a NAT rewrite does: two addresses and two ports change, one delta, one update
        final SplittableRandom random = new SplittableRandom(3022);
        for (int i = 0; i < CASES; i++)
        {
            final byte[] data = randomRegion(random);
            final int oldChecksum = ReferenceChecksum.field(data, CHECKSUM_OFFSET);
            int delta = 0;
            int sequential = oldChecksum;
            final int changes = 1 + random.nextInt(4);
            for (int c = 0; c < changes; c++)
            {
                final int fieldOffset = randomWordOffset(random, data.length, 2);
                final int oldWord = ReferenceChecksum.field(data, fieldOffset);
                final int newWord = edgyWord(random, oldWord);
                putWord(data, fieldOffset, newWord);
                delta = Checksum.addDelta(delta, Checksum.delta16(oldWord, newWord));
                sequential = Checksum.adjust(sequential, oldWord, newWord);
            }
            final int expected = ReferenceChecksum.expected(data, 0, data.length, CHECKSUM_OFFSET, 0);
            assertEquals(hex(expected), hex(Checksum.applyDelta(oldChecksum, delta)), "case " + i);
            assertEquals(hex(expected), hex(sequential), "case " + i);
        }
    }

    @Test
    void shouldReachZeroChecksumIncrementallyAndLeaveIt()
    {
        // a change that makes the data sum 0xFFFF must give 0x0000, as a full computation does; and back
        final SplittableRandom random = new SplittableRandom(0);
        int hits = 0;
        for (int i = 0; i < CASES; i++)
        {
            final byte[] data = randomRegion(random);
            final int fieldOffset = randomWordOffset(random, data.length, 2);
            final int oldWord = ReferenceChecksum.field(data, fieldOffset);
            final int oldChecksum = ReferenceChecksum.field(data, CHECKSUM_OFFSET);
            final int newWord = wordMakingChecksumZero(data, fieldOffset);
            putWord(data, fieldOffset, newWord);
            final int expected = ReferenceChecksum.expected(data, 0, data.length, CHECKSUM_OFFSET, 0);
            assertEquals(0, expected);
            assertEquals(0, Checksum.adjust(oldChecksum, oldWord, newWord), "case " + i);
            assertEquals(0, Checksum.applyDelta(oldChecksum, Checksum.delta16(oldWord, newWord)), "case " + i);
            final int back = random.nextInt(0x10000);
            putWord(data, fieldOffset, back);
            assertEquals(hex(ReferenceChecksum.expected(data, 0, data.length, CHECKSUM_OFFSET, 0)),
                hex(Checksum.adjust(0, newWord, back)), "case " + i);
            hits++;
        }
        assertEquals(CASES, hits);
    }

    @Test
    void shouldLeaveChecksumUnchangedForNoOpChanges()
    {
        final SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < CASES; i++)
        {
            final byte[] data = randomRegion(random);
            final int checksum = ReferenceChecksum.field(data, CHECKSUM_OFFSET);
            final int word = random.nextInt(0x10000);
            final int value = random.nextInt();
            assertEquals(checksum, Checksum.adjust(checksum, word, word));
            assertEquals(checksum, Checksum.adjust32(checksum, value, value));
            assertEquals(checksum, Checksum.applyDelta(checksum, Checksum.delta32(value, value)));
            // 0x0000 and 0xFFFF are both zero in one's complement: swapping them changes no checksum
            assertEquals(checksum, Checksum.adjust(checksum, 0x0000, 0xFFFF));
            assertEquals(checksum, Checksum.adjust(checksum, 0xFFFF, 0x0000));
        }
    }

    @Test
    void shouldAdjustRealIpv4HeadersForAddressRewrites()
    {
        final SplittableRandom random = new SplittableRandom(42);
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[20]);
        final Ipv4Header ip = new Ipv4Header().wrap(buffer, 0);
        for (int i = 0; i < CASES; i++)
        {
            ip.versionAndHeaderLength(4, 20).tos(random.nextInt(256)).totalLength(random.nextInt(0x10000))
                .identification(random.nextInt(0x10000)).flagsAndFragmentOffset(random.nextInt(0x10000))
                .ttl(random.nextInt(256)).protocol(random.nextInt(256))
                .srcAddress(edgyInt(random)).dstAddress(edgyInt(random)).computeChecksum();
            final int oldSrc = ip.srcAddress();
            final int newSrc = edgyInt(random);
            ip.checksum(Checksum.adjust32(ip.checksum(), oldSrc, newSrc)).srcAddress(newSrc);
            assertEquals(hex(ReferenceChecksum.expectedIpChecksum(buffer.byteArray(), 0)), hex(ip.checksum()), "case " + i);
            assertTrue(ip.isChecksumValid());
        }
    }

    /** Random region of 20..1500 bytes, odd lengths included, carrying its correct checksum at offset 10. */
    private static byte[] randomRegion(final SplittableRandom random)
    {
        final int length = 20 + random.nextInt(1481);
        final byte[] data = new byte[length];
        final int style = random.nextInt(4);
        for (int i = 0; i < length; i++)
        {
            switch (style)
            {
                case 0: data[i] = (byte)random.nextInt(); break;
                case 1: data[i] = (byte)(random.nextInt(8) == 0 ? random.nextInt() : 0xFF); break; // mostly ones
                case 2: data[i] = (byte)(random.nextInt(8) == 0 ? random.nextInt() : 0); break; // mostly zeros
                default: data[i] = (byte)(random.nextBoolean() ? 0xFF : 0); break;
            }
        }
        // never all zero: for data that becomes all zero a full computation gives 0xFFFF where RFC 1624 eqn. 3
        // gives 0x0000 (it cannot tell +0 from -0). No IPv4 header (version) nor TCP/UDP sum (pseudo header
        // protocol) is ever all zero; only an ICMP echo reply with id 0, sequence 0 and a zero payload is.
        data[0] = 0x45;
        if (style != 0 && random.nextInt(3) == 0)
        {
            // start from a checksum of 0x0000 (data summing to 0xFFFF)
            final int filler = length - 2 - (length & 1);
            putWord(data, filler == CHECKSUM_OFFSET ? 12 : filler, 0);
            putWord(data, filler == CHECKSUM_OFFSET ? 12 : filler, wordMakingChecksumZero(data, filler == CHECKSUM_OFFSET ? 12 : filler));
        }
        putWord(data, CHECKSUM_OFFSET, ReferenceChecksum.expected(data, 0, length, CHECKSUM_OFFSET, 0));
        return data;
    }

    /** The value of the word at {@code fieldOffset} that makes the region's data sum 0xFFFF (checksum 0x0000). */
    private static int wordMakingChecksumZero(final byte[] data, final int fieldOffset)
    {
        final byte[] copy = data.clone();
        copy[fieldOffset] = 0;
        copy[fieldOffset + 1] = 0;
        copy[CHECKSUM_OFFSET] = 0;
        copy[CHECKSUM_OFFSET + 1] = 0;
        final int rest = ReferenceChecksum.onesComplementSum(copy, 0, copy.length, 0);
        return ~rest & 0xFFFF;
    }

    /** A 16-bit aligned field offset (as every checksummed field is) clear of the checksum field. */
    private static int randomWordOffset(final SplittableRandom random, final int length, final int width)
    {
        while (true)
        {
            final int offset = 2 * random.nextInt((length - width) / 2 + 1);
            if (offset + width <= CHECKSUM_OFFSET || offset >= CHECKSUM_OFFSET + 2)
            {
                return offset;
            }
        }
    }

    private static int newWord(final SplittableRandom random, final byte[] data, final int fieldOffset, final int oldWord)
    {
        return random.nextInt(10) == 0 ? wordMakingChecksumZero(data, fieldOffset) : edgyWord(random, oldWord);
    }

    /** A random word, one time in three an edge: 0x0000, 0xFFFF, 0x0001, 0xFFFE, 0x8000 or the old value. */
    private static int edgyWord(final SplittableRandom random, final int oldWord)
    {
        switch (random.nextInt(18))
        {
            case 0: return 0x0000;
            case 1: return 0xFFFF;
            case 2: return 0x0001;
            case 3: return 0xFFFE;
            case 4: return 0x8000;
            case 5: return oldWord;
            default: return random.nextInt(0x10000);
        }
    }

    private static int edgyInt(final SplittableRandom random)
    {
        switch (random.nextInt(8))
        {
            case 0: return 0;
            case 1: return -1;
            case 2: return 0xFFFF0000;
            case 3: return 0x0000FFFF;
            default: return random.nextInt();
        }
    }

    private static void putWord(final byte[] data, final int offset, final int word)
    {
        data[offset] = (byte)(word >>> 8);
        data[offset + 1] = (byte)word;
    }

    private static String hex(final int word)
    {
        return String.format("0x%04x", word);
    }

    private static String describe(final int i, final byte[] data, final int fieldOffset, final int oldWord, final int newWord,
        final int oldChecksum)
    {
        return "case " + i + ": length " + data.length + " field@" + fieldOffset + " " + hex(oldWord) + " -> " + hex(newWord) +
            " checksum was " + hex(oldChecksum);
    }
}
