package natgw.core.nat;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import static natgw.core.flow.FlowTuple.parseAddress;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SnatPolicyTest
{
    private static final int[] POOL = { parseAddress("198.51.100.1"), parseAddress("198.51.100.2") };

    @Test
    void shouldTranslateOnlyInsideSources()
    {
        final SnatPolicy policy = new SnatPolicy(List.of(Cidr.parse("10.0.0.0/8"), Cidr.parse("192.168.1.0/24")), POOL, 1024, 65535);
        assertTrue(policy.isInside(parseAddress("10.200.3.4")));
        assertTrue(policy.isInside(parseAddress("192.168.1.77")));
        assertFalse(policy.isInside(parseAddress("192.168.2.77")));
        assertFalse(policy.isInside(parseAddress("203.0.113.9")));
        assertFalse(new SnatPolicy(List.of(), POOL, 1, 2).isInside(parseAddress("10.0.0.1")), "no inside network, nothing inside");
        assertTrue(new SnatPolicy(List.of(Cidr.parse("0.0.0.0/0")), POOL, 1, 2).isInside(-1));
    }

    @Test
    void shouldRecognisePoolAddresses()
    {
        final SnatPolicy policy = new SnatPolicy(List.of(Cidr.parse("10.0.0.0/8")), POOL, 1024, 65535);
        assertTrue(policy.isPoolAddress(POOL[0]));
        assertTrue(policy.isPoolAddress(POOL[1]));
        assertFalse(policy.isPoolAddress(parseAddress("198.51.100.3")));
        assertArrayEquals(POOL, policy.pool());
        assertEquals(1024, policy.portLow());
        assertEquals(65535, policy.portHigh());
    }

    @Test
    void shouldGiveAnInsideAddressOnePoolAddressForEveryDestinationWhenPaired()
    {
        final int[] pool = SnatPolicy.parsePool("198.51.100.0/29");
        final SnatPolicy paired = new SnatPolicy(List.of(Cidr.parse("10.0.0.0/8")), pool, 1024, 65535, true);
        final SnatPolicy arbitrary = new SnatPolicy(List.of(Cidr.parse("10.0.0.0/8")), pool, 1024, 65535);
        final Set<Integer> pairedUses = new HashSet<>();
        final Set<Integer> arbitraryUses = new HashSet<>();
        for (int i = 0; i < 64; i++)
        {
            pairedUses.add(paired.addressFor(parseAddress("10.0.0.7"), parseAddress("203.0.113.0") + i));
            arbitraryUses.add(arbitrary.addressFor(parseAddress("10.0.0.7"), parseAddress("203.0.113.0") + i));
        }
        assertEquals(1, pairedUses.size(), "paired: one pool address for all 64 destinations");
        assertTrue(arbitraryUses.size() > 1, "arbitrary: the destination takes part, " + arbitraryUses);
        final Set<Integer> sources = new HashSet<>();
        for (int i = 0; i < 800; i++)
        {
            sources.add(paired.addressFor(parseAddress("10.0.0.0") + i, parseAddress("203.0.113.9")));
        }
        assertEquals(8, sources.size(), "paired still spreads the sources over the whole pool");
    }

    @Test
    void shouldChooseStablePoolAddressPerSourceAndDestinationUsingWholePool()
    {
        final SnatPolicy policy = new SnatPolicy(List.of(Cidr.parse("10.0.0.0/8")), SnatPolicy.parsePool("198.51.100.0/29"), 1024, 65535);
        final Map<Integer, Integer> uses = new HashMap<>();
        for (int i = 0; i < 8000; i++)
        {
            final int address = policy.addressFor(parseAddress("10.0.0.0") + i, parseAddress("203.0.113.9"));
            assertEquals(address, policy.addressFor(parseAddress("10.0.0.0") + i, parseAddress("203.0.113.9")));
            assertTrue(policy.isPoolAddress(address));
            uses.merge(address, 1, Integer::sum);
        }
        assertEquals(8, uses.size());
        uses.values().forEach(n -> assertTrue(n > 700 && n < 1300, "uneven spread " + uses));
    }

    @Test
    void shouldParsePoolListsAndPrefixes()
    {
        assertArrayEquals(new int[]{ parseAddress("198.51.100.1"), parseAddress("198.51.100.9") },
            SnatPolicy.parsePool("198.51.100.1,198.51.100.9,198.51.100.1"));
        final int[] prefix = SnatPolicy.parsePool("198.51.100.0/30");
        assertArrayEquals(new int[]{ parseAddress("198.51.100.0"), parseAddress("198.51.100.1"), parseAddress("198.51.100.2"),
            parseAddress("198.51.100.3") }, prefix);
        assertThrows(IllegalArgumentException.class, () -> SnatPolicy.parsePool("198.51.100.1,,198.51.100.2"));
        assertThrows(IllegalArgumentException.class, () -> SnatPolicy.parsePool("10.0.0.0/15"));
    }

    @Test
    void shouldParsePortRanges()
    {
        assertArrayEquals(new int[]{ 1024, 65535 }, SnatPolicy.parsePortRange("1024-65535"));
        assertArrayEquals(new int[]{ 7, 7 }, SnatPolicy.parsePortRange(" 7 - 7 "));
        for (final String bad : new String[]{ "0-10", "10-5", "1-65536", "1024", "a-b", "1-2-3" })
        {
            final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> SnatPolicy.parsePortRange(bad));
            assertTrue(ex.getMessage().contains("'" + bad + "'"), ex.getMessage());
        }
    }

    @Test
    void shouldRejectEmptyPoolAndBadPortRange()
    {
        assertThrows(IllegalArgumentException.class, () -> new SnatPolicy(List.of(), new int[0], 1, 2));
        assertThrows(IllegalArgumentException.class, () -> new SnatPolicy(List.of(), POOL, 0, 2));
        assertThrows(IllegalArgumentException.class, () -> new SnatPolicy(List.of(), POOL, 3, 2));
        assertThrows(IllegalArgumentException.class, () -> new SnatPolicy(List.of(), POOL, 1, 65536));
    }
}
