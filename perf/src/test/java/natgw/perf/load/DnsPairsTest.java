package natgw.perf.load;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** DnsPairs on loopback against answerers that answer all, some, or late: what it counts. */
class DnsPairsTest
{
    static final List<String> SOURCES = List.of("127.0.0.2", "127.0.0.3", "127.0.0.4");
    static final int ROUNDS = 20;
    /**
     * Where every answer comes: a lookup ends when both are in, so a long timeout costs nothing and only a
     * stalled machine, not a busy one, could make a prompt loopback answer late.
     */
    static final long PROMPT_TIMEOUT_MS = 30_000;
    static final long GRACE_MS = 30_000;

    @Test
    void shouldWriteTheTypeAndReadItBack()
    {
        final ByteBuffer query = ByteBuffer.allocate(DnsPairs.QUERY_BYTES);
        DnsPairs.writeQuery(query, 1, 7, 3);
        assertEquals(DnsPairs.QUERY_BYTES, query.limit());
        assertEquals(0, query.get(DnsPairs.ID_OFFSET), "the id byte is the backend's to write");
        assertEquals(28, query.get(DnsPairs.TYPE_OFFSET));
        assertEquals(1, DnsPairs.typeOf(query));
        DnsPairs.writeQuery(query, 0, 7, 3);
        assertEquals(0, DnsPairs.typeOf(query));
        query.limit(10);
        assertEquals(-1, DnsPairs.typeOf(query), "short: not an answer");
    }

    @Test
    void shouldCountEveryLookupAnsweredFromOneBackendWithTwoSenders() throws Exception
    {
        final DnsPairs.Stats stats = run(answerer(Behaviour.ALL, 0), 2, PROMPT_TIMEOUT_MS, GRACE_MS);
        assertEquals(ROUNDS * SOURCES.size(), stats.lookups);
        assertEquals(2L * ROUNDS * SOURCES.size(), stats.answered);
        assertEquals(0, stats.lost);
        assertEquals(0, stats.late);
        assertEquals(0, stats.split);
        assertEquals(0, stats.errors);
        assertEquals(0, stats.strays);
        assertEquals(ROUNDS * SOURCES.size(), stats.lookup.getTotalCount());
        assertEquals(2L * ROUNDS * SOURCES.size(), stats.query.getTotalCount());
    }

    @Test
    void shouldCountTheUnansweredAaaaAsLost() throws Exception
    {
        // DnsPairs must wait out timeout + grace to call the AAAA lost; the A answer has to come before that
        final DnsPairs.Stats stats = run(answerer(Behaviour.A_ONLY, 0), 1, 2_000, 1_000);
        assertEquals(ROUNDS * SOURCES.size(), stats.lookups);
        assertEquals(ROUNDS * SOURCES.size(), stats.answered);
        assertEquals(ROUNDS * SOURCES.size(), stats.lost);
        assertEquals(ROUNDS * SOURCES.size(), stats.incomplete);
        assertEquals(0, stats.lookup.getTotalCount(), "no lookup completed");
    }

    @Test
    void shouldCountAnAnswerToAnotherLookupsQueryAsStrayNotAsAnswered() throws Exception
    {
        final DnsPairs.Stats stats = run(answerer(Behaviour.AAAA_STRAY, 0), 2, 1_000, 500);
        assertEquals(ROUNDS * SOURCES.size(), stats.strays);
        assertEquals(ROUNDS * SOURCES.size(), stats.answered, "the A answers only");
        assertEquals(ROUNDS * SOURCES.size(), stats.lost, "every AAAA");
    }

    @Test
    void shouldCountAnswersAfterTheTimeoutAsLateAndDifferentBackendsAsSplit() throws Exception
    {
        // the answerer holds each AAAA answer until the timeout has passed since it received the query, so since the
        // client sent it: late by construction, whatever the machine's load; the grace only bounds the test
        final long timeoutMs = 1_000;
        final DnsPairs.Stats late = run(answerer(Behaviour.AAAA_LATE, timeoutMs), 2, timeoutMs, GRACE_MS);
        assertEquals(ROUNDS * SOURCES.size(), late.late);
        assertEquals(0, late.lost);
        assertEquals(0, late.strays);
        assertEquals(ROUNDS * SOURCES.size(), late.lookup.getTotalCount());
        final DnsPairs.Stats split = run(answerer(Behaviour.SPLIT, 0), 2, PROMPT_TIMEOUT_MS, GRACE_MS);
        assertEquals(ROUNDS * SOURCES.size(), split.split);
        assertEquals(0, split.lost);
    }

    @Test
    void shouldGiveEveryPendingLookupAPortOfItsOwn() throws Exception
    {
        // a port-0 bind with SO_REUSEPORT may join another reuseport socket's port: answers would then reach the
        // wrong lookup. 500 lookups pending at once from one address: ~4 collisions expected if that could happen
        final DnsPairs pairs = new DnsPairs(new InetSocketAddress("127.0.0.1", 9), SOURCES, 1, 0, 2, 0, 0, 0, false);
        final java.util.Set<Integer> ports = new java.util.HashSet<>();
        final List<DatagramChannel> open = new java.util.ArrayList<>();
        try
        {
            for (int i = 0; i < 500; i++)
            {
                final DatagramChannel[] channels = pairs.open(SOURCES.get(0));
                open.addAll(List.of(channels));
                final int port = ((InetSocketAddress)channels[0].getLocalAddress()).getPort();
                assertEquals(port, ((InetSocketAddress)channels[1].getLocalAddress()).getPort(), "the twin's port");
                assertTrue(ports.add(port), "port " + port + " given to two pending lookups");
            }
        }
        finally
        {
            for (final DatagramChannel channel : open)
            {
                channel.close();
            }
        }
    }

    private static DnsPairs.Stats run(final InetSocketAddress server, final int senders, final long timeoutMs,
        final long graceMs) throws Exception
    {
        return new DnsPairs(server, SOURCES, ROUNDS, TimeUnit.MILLISECONDS.toNanos(2), senders,
            TimeUnit.MILLISECONDS.toNanos(timeoutMs), TimeUnit.MILLISECONDS.toNanos(graceMs),
            TimeUnit.SECONDS.toNanos(1), false).run();
    }

    enum Behaviour
    {
        ALL, A_ONLY, AAAA_LATE, SPLIT, AAAA_STRAY
    }

    /**
     * An answerer on loopback: answers as told, id 1 (SPLIT: AAAA from id 2; AAAA_STRAY: AAAA as if to the next round's query; AAAA_LATE: AAAA once {@code lateMs}
     * have passed since the query arrived).
     */
    private static InetSocketAddress answerer(final Behaviour behaviour, final long lateMs) throws IOException
    {
        final DatagramChannel channel = DatagramChannel.open();
        channel.bind(new InetSocketAddress("127.0.0.1", 0));
        final Thread thread = new Thread(() ->
        {
            final ByteBuffer buffer = ByteBuffer.allocate(2048);
            try
            {
                while (true)
                {
                    buffer.clear();
                    final SocketAddress from = channel.receive(buffer);
                    final long receivedNs = System.nanoTime();
                    buffer.flip();
                    final boolean aaaa = DnsPairs.typeOf(buffer) == 1;
                    if (aaaa && behaviour == Behaviour.A_ONLY)
                    {
                        continue;
                    }
                    buffer.put(DnsPairs.ID_OFFSET, (byte)(aaaa && behaviour == Behaviour.SPLIT ? 2 : 1));
                    if (aaaa && behaviour == Behaviour.AAAA_STRAY)
                    {
                        buffer.putInt(DnsPairs.ROUND_OFFSET, buffer.getInt(DnsPairs.ROUND_OFFSET) + 1);
                    }
                    if (aaaa && behaviour == Behaviour.AAAA_LATE)
                    {
                        final ByteBuffer copy = ByteBuffer.allocate(buffer.remaining()).put(buffer).flip();
                        final Thread later = new Thread(() ->
                        {
                            try
                            {
                                // the client took its send time before sending: past this instant its wait is over
                                final long dueNs = receivedNs + TimeUnit.MILLISECONDS.toNanos(lateMs);
                                long nowNs;
                                while ((nowNs = System.nanoTime()) <= dueNs)
                                {
                                    TimeUnit.NANOSECONDS.sleep(dueNs - nowNs + 1);
                                }
                                channel.send(copy, from);
                            }
                            catch (final Exception ignored)
                            {
                                // test over
                            }
                        });
                        later.setDaemon(true);
                        later.start();
                        continue;
                    }
                    channel.send(buffer, from);
                }
            }
            catch (final IOException e)
            {
                // test over
            }
        }, "answerer-" + behaviour);
        thread.setDaemon(true);
        thread.start();
        assertTrue(channel.isOpen());
        return (InetSocketAddress)channel.getLocalAddress();
    }
}
