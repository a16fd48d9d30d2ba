package natgw.core.nat;

import java.nio.ByteBuffer;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static natgw.core.flow.FlowTuple.parseAddress;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Source affinity: remember, look up, expire, keep clients and services apart. */
class AffinityTableTest
{
    private static final int WEB = 3;
    private static final int DNS = 4;
    private static final int CLIENT = parseAddress("10.77.1.2");

    private final AffinityTable affinity = new AffinityTable(1024);

    @Test
    void shouldRememberAClientsBackendUntilItsDeadline()
    {
        assertEquals(-1, affinity.lookup(WEB, CLIENT, 1000), "nothing remembered yet");
        affinity.remember(WEB, CLIENT, 17, 31_000);
        assertEquals(17, affinity.lookup(WEB, CLIENT, 1000));
        assertEquals(17, affinity.lookup(WEB, CLIENT, 31_000), "valid up to its deadline");
        assertEquals(-1, affinity.lookup(WEB, CLIENT, 31_001), "expired after it");
    }

    @Test
    void shouldRefreshOrReplaceWhatItRemembers()
    {
        affinity.remember(WEB, CLIENT, 17, 31_000);
        affinity.remember(WEB, CLIENT, 17, 61_000);
        assertEquals(17, affinity.lookup(WEB, CLIENT, 45_000), "each new connection pushes the deadline forward");
        affinity.remember(WEB, CLIENT, 9, 91_000);
        assertEquals(9, affinity.lookup(WEB, CLIENT, 45_000), "rescheduled (its backend drained): the new backend");
        assertEquals(1, affinity.slotsHolding(WEB, CLIENT), "one slot per client, claimed once");
    }

    @Test
    void shouldRememberBackendZero()
    {
        affinity.remember(WEB, CLIENT, 0, 5000);
        assertEquals(0, affinity.lookup(WEB, CLIENT, 4000));
    }

    @Test
    void shouldKeepNeighbouringClientsApart()
    {
        // addresses that differ in the lowest bit only: one key each
        for (int i = 0; i < 64; i++)
        {
            affinity.remember(WEB, CLIENT + i, 100 + i, 10_000);
        }
        for (int i = 0; i < 64; i++)
        {
            assertEquals(100 + i, affinity.lookup(WEB, CLIENT + i, 5000), "client " + i);
        }
    }

    @Test
    void shouldKeepServicesApart()
    {
        affinity.remember(WEB, CLIENT, 1, 10_000);
        affinity.remember(DNS, CLIENT, 2, 20_000);
        assertEquals(1, affinity.lookup(WEB, CLIENT, 5000));
        assertEquals(2, affinity.lookup(DNS, CLIENT, 5000));
        assertEquals(-1, affinity.lookup(WEB, CLIENT, 15_000));
        assertEquals(2, affinity.lookup(DNS, CLIENT, 15_000));
        assertEquals(-1, affinity.lookup(5, CLIENT, 5000));
    }

    @Test
    void shouldCompareDeadlinesAcrossTheTableClockWrap()
    {
        final int nowMs = Integer.MAX_VALUE - 1000;
        affinity.remember(WEB, CLIENT, 6, nowMs + 30_000); // wraps negative
        assertEquals(6, affinity.lookup(WEB, CLIENT, nowMs));
        assertEquals(6, affinity.lookup(WEB, CLIENT, nowMs + 29_000));
        assertEquals(-1, affinity.lookup(WEB, CLIENT, nowMs + 31_000));
    }

    @Test
    void shouldWorkForAnyClientAddressAndServiceId()
    {
        affinity.remember(0xFFFF, -1, 4095, 100);
        affinity.remember(0, 0, 4094, 100);
        assertEquals(4095, affinity.lookup(0xFFFF, -1, 50));
        assertEquals(4094, affinity.lookup(0, 0, 50));
    }

    @Test
    void shouldGoWithoutAffinityWhenItsProbeWindowIsFull()
    {
        final AffinityTable small = new AffinityTable(16);
        for (int i = 0; i < 16; i++)
        {
            small.remember(WEB, CLIENT + i, i, 10_000);
        }
        small.remember(WEB, CLIENT + 16, 16, 10_000); // no slot left: forgotten, never an error
        assertEquals(-1, small.lookup(WEB, CLIENT + 16, 5000));
        for (int i = 0; i < 16; i++)
        {
            assertEquals(i, small.lookup(WEB, CLIENT + i, 5000));
        }
    }

    @Test
    void shouldCarryOnOverTheMemoryOfAPreviousTable()
    {
        final UnsafeBuffer memory = new UnsafeBuffer(ByteBuffer.allocateDirect(AffinityTable.bytes(1024)));
        new AffinityTable(1024, memory).remember(WEB, CLIENT, 5, 1000);

        final AffinityTable attached = new AffinityTable(1024, memory);

        assertEquals(5, attached.lookup(WEB, CLIENT, 999));
    }

    @Test
    void shouldForgetExpiredClientsOnAttach()
    {
        affinity.remember(WEB, CLIENT, 5, 1000);
        affinity.remember(DNS, CLIENT, 6, 3000);

        assertEquals(1, affinity.forgetExpired(2000));

        // long after: the first deadline's milliseconds have wrapped and would read as ahead, but it is gone
        assertEquals(-1, affinity.lookup(WEB, CLIENT, 1000 - Integer.MAX_VALUE));
        assertEquals(6, affinity.lookup(DNS, CLIENT, 2000));
    }

    @Test
    void shouldRefuseACapacityThatIsNotAPowerOfTwo()
    {
        assertThrows(IllegalArgumentException.class, () -> new AffinityTable(1000));
    }
}
