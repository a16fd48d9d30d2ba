package natgw.core.pipeline;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.Timeouts;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.nat.Cidr;
import natgw.core.nat.NatAllocator;
import natgw.core.nat.PortStrategy;
import natgw.core.nat.SnatPolicy;
import natgw.core.packet.IcmpHeader;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.PacketBuilder;
import natgw.core.packet.TcpHeader;

import static natgw.core.flow.FlowTuple.parseAddress;
import static natgw.core.packet.TcpHeader.ACK;
import static natgw.core.packet.TcpHeader.FIN;
import static natgw.core.packet.TcpHeader.RST;
import static natgw.core.packet.TcpHeader.SYN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A batch goes through the pipeline exactly as its packets would one by one: two identical gateways get
 * the same random traffic (new flows, duplicates of a new flow within one batch, both directions,
 * closes, ICMP errors, malformed and unsolicited packets), one packet at a time and in batches of 1 to
 * 150; every verdict, output length, output byte and counter must agree, and every packet forwarded (sent
 * at TTL 64) leaves with the hop given back, whichever path took it.
 */
class PipelineBatchTest
{
    private static final int POOL = parseAddress("198.51.100.1");
    private static final int CLIENTS = parseAddress("10.77.1.2");
    private static final int SERVER = parseAddress("203.0.113.9");
    private static final int ROUTER = parseAddress("192.0.2.254");
    private static final int OUTSIDER = parseAddress("192.168.9.9");
    private static final int MAX_BATCH = 150;
    private static final int SLOT = 2048;
    private static final int QUOTE_AT = 60_000;

    /** One gateway's state: its own table, counters and pipeline, built the same way for both. */
    private static final class Gateway
    {
        final ConntrackTable table = new ConntrackTable(4096, 0);
        final WorkerCounters counters = new WorkerCounters(0);
        final Pipeline pipeline = new Pipeline(table, new NatAllocator(table, PortStrategy.RESERVE, counters, 0, true, 42),
            new SnatPolicy(List.of(Cidr.parse("10.77.1.0/24")), new int[]{ POOL }, 1024, 65535), new Timeouts(), counters, true);
    }

    /** A flow seen translated: its protocol and the pool port it got. */
    private record Flow(int protocol, int natPort)
    {
    }

    private final PacketBuilder builder = new PacketBuilder();
    private final UnsafeBuffer scratch = builder.buffer();
    private final List<Flow> flows = new ArrayList<>();

    @Test
    void shouldGiveEveryPacketOfABatchTheVerdictAndBytesItGetsAlone()
    {
        final Gateway alone = new Gateway();
        final Gateway batched = new Gateway();
        final UnsafeBuffer[] aloneBuffers = buffers();
        final UnsafeBuffer[] batchBuffers = buffers();
        final int[] lengths = new int[MAX_BATCH];
        final int[] verdicts = new int[MAX_BATCH];
        final int[] outputLengths = new int[MAX_BATCH];
        final Random random = new Random(20261122);
        long nowNs = 1_000_000_000L;
        int packets = 0;
        int forwarded = 0;
        int dropped = 0;

        for (int round = 0; round < 400; round++)
        {
            final int count = 1 + random.nextInt(MAX_BATCH);
            for (int i = 0; i < count; i++)
            {
                lengths[i] = nextPacket(random);
                aloneBuffers[i].putBytes(0, scratch, 0, lengths[i]);
                batchBuffers[i].putBytes(0, scratch, 0, lengths[i]);
            }
            batched.pipeline.process(batchBuffers, 0, lengths, count, nowNs, verdicts, outputLengths);
            for (int i = 0; i < count; i++)
            {
                final int verdict = alone.pipeline.process(aloneBuffers[i], 0, lengths[i], nowNs);
                final int outputLength = alone.pipeline.outputLength();
                final String where = "round " + round + ", packet " + i + " of " + count;
                assertEquals(verdict, verdicts[i], where);
                assertEquals(outputLength, outputLengths[i], where);
                for (int b = 0; b < outputLength; b++)
                {
                    assertEquals(aloneBuffers[i].getByte(b), batchBuffers[i].getByte(b), where + ", byte " + b);
                }
                if (verdict == Pipeline.FORWARD)
                {
                    assertEquals(65, batchBuffers[i].getByte(Ipv4Header.TTL_OFFSET) & 0xFF, where + ": one hop given back");
                    forwarded++;
                    learn(aloneBuffers[i]);
                }
                else
                {
                    dropped++;
                }
            }
            packets += count;
            nowNs += 7_000_000L;
        }

        assertEquals(alone.counters.statsLine(), batched.counters.statsLine());
        assertEquals(alone.table.countInUse(), batched.table.countInUse());
        assertTrue(forwarded > packets / 2 && dropped > packets / 50,
            "the traffic mixes forwarded and dropped packets: " + forwarded + " forwarded, " + dropped + " dropped");
    }

    private static UnsafeBuffer[] buffers()
    {
        final UnsafeBuffer[] buffers = new UnsafeBuffer[MAX_BATCH];
        for (int i = 0; i < MAX_BATCH; i++)
        {
            buffers[i] = new UnsafeBuffer(ByteBuffer.allocateDirect(SLOT));
        }
        return buffers;
    }

    /** Remembers the translation of a flow's first packet out, so later packets can use it. */
    private void learn(final UnsafeBuffer output)
    {
        final Ipv4Header ip = new Ipv4Header().wrap(output, 0);
        if (ip.srcAddress() != POOL || ip.protocol() == Ipv4Header.PROTO_ICMP)
        {
            return;
        }
        final TcpHeader ports = new TcpHeader().wrap(output, ip.headerLength()); // UDP's ports sit at the same offsets
        final int natPort = ports.srcPort();
        for (final Flow flow : flows)
        {
            if (flow.natPort == natPort && flow.protocol == ip.protocol())
            {
                return;
            }
        }
        flows.add(new Flow(ip.protocol(), natPort));
    }

    /** Builds a random packet in the scratch buffer; returns its length. */
    private int nextPacket(final Random random)
    {
        final int client = CLIENTS + random.nextInt(40);
        final int clientPort = 30000 + random.nextInt(8);
        final Flow known = flows.isEmpty() ? null : flows.get(random.nextInt(flows.size()));
        final int kind = random.nextInt(100);
        if (kind < 25 || known == null)
        {
            // new (or repeated) flow from inside: duplicates in one batch share one translation
            return random.nextBoolean() ?
                builder.tcp(0, client, clientPort, SERVER, 443, SYN, 1000, 0, 0) :
                builder.udp(0, client, clientPort, SERVER, 53, 20);
        }
        if (kind < 40)
        {
            // inside packets of flows that may exist: ACKs, FINs, RSTs
            final int flags = kind < 30 ? ACK : kind < 35 ? FIN | ACK : RST;
            return builder.tcp(0, client, clientPort, SERVER, 443, flags, 1001, 5001, random.nextInt(100));
        }
        if (kind < 70)
        {
            // replies to a translation seen earlier
            if (known.protocol == Ipv4Header.PROTO_TCP)
            {
                final int flags = kind < 50 ? SYN | ACK : kind < 62 ? ACK : kind < 67 ? FIN | ACK : RST;
                return builder.tcp(0, SERVER, 443, POOL, known.natPort, flags, 5000, 1001, random.nextInt(100));
            }
            return builder.udp(0, SERVER, 53, POOL, known.natPort, 40 + random.nextInt(100));
        }
        if (kind < 76)
        {
            // an ICMP error about a translated flow, quoting its reply-direction header
            final int quoted = known.protocol == Ipv4Header.PROTO_TCP ?
                builder.tcp(QUOTE_AT, POOL, known.natPort, SERVER, 443, ACK, 1, 1, 0) :
                builder.udp(QUOTE_AT, POOL, known.natPort, SERVER, 53, 0);
            return builder.icmpError(0, ROUTER, POOL, IcmpHeader.TIME_EXCEEDED, 0, QUOTE_AT, Math.min(quoted, 28));
        }
        if (kind < 84)
        {
            return builder.icmpEcho(0, client, SERVER, IcmpHeader.ECHO_REQUEST, random.nextInt(4), 1, 16);
        }
        if (kind < 88)
        {
            return builder.udp(0, SERVER, 53, POOL, 9, 8); // unsolicited: no mapping
        }
        if (kind < 92)
        {
            return builder.udp(0, OUTSIDER, 53, SERVER, 9, 8); // not ours: untracked
        }
        if (kind < 96)
        {
            final int length = builder.udp(0, client, clientPort, SERVER, 53, 20);
            scratch.putByte(Ipv4Header.CHECKSUM_OFFSET, (byte)(scratch.getByte(Ipv4Header.CHECKSUM_OFFSET) ^ 0x5A));
            return length; // bad header checksum
        }
        return 1 + random.nextInt(Ipv4Header.MIN_LENGTH + 7); // truncated
    }
}
