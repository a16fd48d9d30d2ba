package natgw.core.conntrack;

import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import natgw.core.flow.FlowTuple;

import static natgw.core.conntrack.ConntrackTable.ORIGINAL;
import static natgw.core.conntrack.ConntrackTable.REPLY;
import static natgw.core.flow.FlowTuple.parseAddress;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Workers counting packets of one connection at once (both directions, as TUN queues hash them apart,
 * and one direction on several workers, as for a flow's first packets), with folds all along, while a
 * reader reads: no packet or byte is lost or counted twice, and no read goes backwards.
 */
class ConcurrentCountsTest
{
    private static final int WORKERS = 4;
    private static final int PACKETS_PER_WORKER = 2_000_000;

    @Test
    void shouldCountEveryPacketOnceWhileReadersRead() throws Exception
    {
        final ConntrackTable table = new ConntrackTable(4, 0);
        final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
        final int entry = table.allocate();
        table.initialise(entry, FlowTuple.packAddresses(parseAddress("10.0.0.2"), parseAddress("203.0.113.9")),
            FlowTuple.packPorts(17, 5000, 53), FlowTuple.packAddresses(parseAddress("203.0.113.9"), parseAddress("198.51.100.1")),
            FlowTuple.packPorts(17, 53, 5000), 0, 0, 1000);
        assertTrue(table.claim(cursor, entry, REPLY));
        table.confirm(entry);
        assertTrue(table.claim(cursor, entry, ORIGINAL));

        final CyclicBarrier start = new CyclicBarrier(WORKERS + 1);
        final AtomicBoolean counting = new AtomicBoolean(true);
        final AtomicReference<String> readerError = new AtomicReference<>();
        final long[][] expected = new long[WORKERS][2];
        final Thread[] workers = new Thread[WORKERS];
        for (int w = 0; w < WORKERS; w++)
        {
            final int worker = w;
            workers[w] = new Thread(() ->
            {
                await(start);
                final int dir = worker == WORKERS - 1 ? REPLY : ORIGINAL; // three workers share ORIGINAL
                long bytes = 0;
                for (int i = 0; i < PACKETS_PER_WORKER; i++)
                {
                    final int length = i % 1000 == 0 ? 9000 : 40 + (i * 31 + worker) % 1461; // some jumbo ones
                    table.account(entry, dir, length);
                    bytes += length;
                }
                expected[worker][0] = PACKETS_PER_WORKER;
                expected[worker][1] = bytes;
            }, "counter-" + w);
            workers[w].start();
        }
        final Thread reader = new Thread(() ->
        {
            await(start);
            long lastPackets = 0;
            long lastBytes = 0;
            while (counting.get() && readerError.get() == null)
            {
                final long packets = table.packets(entry, ORIGINAL);
                final long bytes = table.bytes(entry, ORIGINAL);
                if (packets < lastPackets || bytes < lastBytes)
                {
                    readerError.set("went back from " + lastPackets + "/" + lastBytes + " to " + packets + "/" + bytes);
                }
                if (packets > 3L * PACKETS_PER_WORKER)
                {
                    readerError.set("read " + packets + " packets, more than were sent");
                }
                lastPackets = packets;
                lastBytes = bytes;
            }
        }, "reader");
        reader.start();
        for (final Thread worker : workers)
        {
            worker.join();
        }
        counting.set(false);
        reader.join();

        assertNull(readerError.get());
        assertEquals(3L * PACKETS_PER_WORKER, table.packets(entry, ORIGINAL));
        assertEquals(expected[0][1] + expected[1][1] + expected[2][1], table.bytes(entry, ORIGINAL));
        assertEquals(PACKETS_PER_WORKER, table.packets(entry, REPLY));
        assertEquals(expected[3][1], table.bytes(entry, REPLY));
    }

    private static void await(final CyclicBarrier barrier)
    {
        try
        {
            barrier.await();
        }
        catch (final Exception ex)
        {
            throw new IllegalStateException(ex);
        }
    }
}
