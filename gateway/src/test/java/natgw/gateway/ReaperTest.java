package natgw.gateway;

import org.junit.jupiter.api.Test;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.StatusDescriptor;
import natgw.core.flow.FlowTuple;

import static natgw.core.conntrack.ConntrackTable.ORIGINAL;
import static natgw.core.conntrack.ConntrackTable.REPLY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReaperTest
{
    private static final int CLIENT = FlowTuple.parseAddress("10.77.1.2");
    private static final int SERVER = FlowTuple.parseAddress("10.77.2.2");
    private static final int POOL = FlowTuple.parseAddress("10.77.2.100");
    private static final long EPOCH_NS = 1_000_000_000L;
    private static final int DEADLINE_MS = 30_000;

    private final ConntrackTable table = new ConntrackTable(1 << 18, EPOCH_NS);
    private final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
    private long nowNs = EPOCH_NS;

    @Test
    void shouldSweepTheEntriesInUseInItsCyclesPerSweepHoweverLargeTheTable()
    {
        final int connections = 64 * Reaper.MIN_SLICE; // slices of MIN_SLICE: 64 cycles
        for (int i = 0; i < connections; i++)
        {
            connect(i);
        }
        final Reaper reaper = new Reaper(table, () -> nowNs, 64);
        nowNs = EPOCH_NS + (DEADLINE_MS + 1) * 1_000_000L;

        for (int cycle = 1; cycle < 64; cycle++)
        {
            reaper.doWork();
            assertEquals(cycle * Reaper.MIN_SLICE, reaper.expired(), "cycle " + cycle);
        }
        reaper.doWork();
        assertEquals(connections, reaper.expired(), "a table of 262,144 entries, 16,384 of them ever used: swept in 64 cycles");
        assertEquals(0, table.countInUse());
    }

    @Test
    void shouldReachAConnectionAboveTheMarkItSawOnTheNextSweep()
    {
        final Reaper reaper = new Reaper(table, () -> nowNs, 1);
        connect(0);
        assertEquals(0, reaper.doWork(), "not expired yet");
        connect(1);
        nowNs = EPOCH_NS + (DEADLINE_MS + 1) * 1_000_000L;
        assertEquals(2, reaper.doWork());
        assertEquals(0, table.countInUse());
    }

    @Test
    void shouldSleepAfterACycleThatEndedConnectionsToo()
    {
        final org.agrona.concurrent.IdleStrategy pace = Reaper.pace();
        final long startNs = System.nanoTime();
        pace.idle(1000);
        // a lower bound only: a sleep never ends early, however busy the machine
        assertTrue(System.nanoTime() - startNs >= Reaper.CYCLE_MS * 1_000_000L, "idle(workCount > 0) slept a cycle");
    }

    private void connect(final int i)
    {
        final int entry = table.allocate();
        table.initialise(entry, FlowTuple.packAddresses(CLIENT, SERVER), FlowTuple.packPorts(17, 1024 + i % 60_000, 53 + i / 60_000),
            FlowTuple.packAddresses(SERVER, POOL), FlowTuple.packPorts(17, 53 + i / 60_000, 1024 + i % 60_000),
            StatusDescriptor.SRC_NAT, 0, DEADLINE_MS);
        assertTrue(table.claim(cursor, entry, REPLY));
        table.confirm(entry);
        assertTrue(table.claim(cursor, entry, ORIGINAL));
    }
}
