package natgw.core.pipeline;

/**
 * The packets in hand between the stages, slot {@code j} for packet j of a batch (of up to {@link
 * Pipeline#LOOKAHEAD}): what validation read of it (flow key, bucket, header fields, offloads) for the
 * lookup and the later stages, and what the packet in hand goes out as. Reused: nothing per packet.
 * <pre>
 *   fields   = total length << 16 | IP header length << 8 | TCP flags
 *   offloads = PARTIAL_CSUM (the L4 checksum field holds a partial sum, virtio NEEDS_CSUM) | segments
 *   fragment = 0 for a whole packet, else FRAGMENT | MORE_FRAGMENTS? | IP identification; its offset in fragmentOffsets
 * </pre>
 */
final class Batch
{
    static final int PARTIAL_CSUM = 1 << 16;
    static final int SEGMENTS_MASK = PARTIAL_CSUM - 1;
    static final int FRAGMENT = 1 << 16;
    static final int MORE_FRAGMENTS = 1 << 17;

    /** The flow key of slot j: addresses at 2j, ports at 2j + 1 (FlowTuple). */
    final long[] keys = new long[2 * Pipeline.LOOKAHEAD];
    final int[] buckets = new int[Pipeline.LOOKAHEAD];
    final int[] fields = new int[Pipeline.LOOKAHEAD];
    final int[] offloads = new int[Pipeline.LOOKAHEAD];
    final int[] fragments = new int[Pipeline.LOOKAHEAD];
    /** A fragment's offset in its datagram's payload, in bytes. */
    final int[] fragmentOffsets = new int[Pipeline.LOOKAHEAD];
    /** The bytes of the segments the packet stands for. */
    final int[] wireBytes = new int[Pipeline.LOOKAHEAD];
    /** Connections found since the counter was last told: added to FOUND once per batch, not per packet. */
    int found;
    /** Length of the packet in hand to write (an answer may differ in length). */
    int outputLength;
    /** Set when the packet in hand was answered in its buffer (a packet of natgw's own: no offloads). */
    boolean answered;

    long addresses(final int j)
    {
        return keys[2 * j];
    }

    long ports(final int j)
    {
        return keys[2 * j + 1];
    }

    void key(final int j, final long addresses, final long ports)
    {
        keys[2 * j] = addresses;
        keys[2 * j + 1] = ports;
    }

    /** The packet in hand goes out as an answer of {@code length} bytes built in its buffer. */
    void answer(final int length)
    {
        outputLength = length;
        answered = true;
    }

    static int packFields(final int tcpFlags, final int ihl, final int totalLength)
    {
        return totalLength << 16 | ihl << 8 | tcpFlags;
    }

    static int tcpFlags(final int fields)
    {
        return fields & 0xFF;
    }

    static int ihl(final int fields)
    {
        return fields >>> 8 & 0xFF;
    }

    static int totalLength(final int fields)
    {
        return fields >>> 16;
    }

    static int packFragment(final int identification, final boolean moreFragments)
    {
        return FRAGMENT | (moreFragments ? MORE_FRAGMENTS : 0) | identification;
    }

    static int identification(final int fragment)
    {
        return fragment & 0xFFFF;
    }

    static boolean moreFragments(final int fragment)
    {
        return (fragment & MORE_FRAGMENTS) != 0;
    }

    static int segments(final int offloads)
    {
        return offloads & SEGMENTS_MASK;
    }

    static boolean partialChecksum(final int offloads)
    {
        return (offloads & PARTIAL_CSUM) != 0;
    }
}
