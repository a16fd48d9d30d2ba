package natgw.core.nat;

import org.junit.jupiter.api.Test;

import static natgw.core.flow.FlowTuple.parseAddress;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CidrTest
{
    @Test
    void shouldContainExactlyItsPrefix()
    {
        final Cidr cidr = Cidr.parse("10.77.1.0/24");
        assertTrue(cidr.contains(parseAddress("10.77.1.0")));
        assertTrue(cidr.contains(parseAddress("10.77.1.255")));
        assertFalse(cidr.contains(parseAddress("10.77.2.0")));
        assertFalse(cidr.contains(parseAddress("10.77.0.255")));
        assertEquals(256, cidr.size());
    }

    @Test
    void shouldMaskHostBitsAndPrintNetwork()
    {
        final Cidr cidr = Cidr.parse(" 192.168.37.200/20 ");
        assertEquals(parseAddress("192.168.32.0"), cidr.network());
        assertEquals(20, cidr.prefixLength());
        assertEquals("192.168.32.0/20", cidr.toString());
    }

    @Test
    void shouldHandleZeroAndThirtyTwoBitPrefixes()
    {
        final Cidr all = Cidr.parse("0.0.0.0/0");
        assertTrue(all.contains(0));
        assertTrue(all.contains(-1));
        assertEquals(1L << 32, all.size());
        final Cidr host = Cidr.parse("203.0.113.7");
        assertEquals(32, host.prefixLength());
        assertTrue(host.contains(parseAddress("203.0.113.7")));
        assertFalse(host.contains(parseAddress("203.0.113.6")));
        assertEquals(1, host.size());
        assertTrue(Cidr.parse("128.0.0.0/1").contains(parseAddress("255.1.2.3")), "high addresses are negative ints");
    }

    @Test
    void shouldRejectMalformedTextNamingIt()
    {
        for (final String bad : new String[]{ "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/x", "10.0.0/8", "/8" })
        {
            final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> Cidr.parse(bad), bad);
            // a bad prefix length names the whole text; a bad address names the address part
            assertTrue(ex.getMessage().contains("'" + bad + "'") || ex.getMessage().contains("'" + bad.substring(0, bad.indexOf('/')) + "'"),
                ex.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new Cidr(0, 33));
    }
}
