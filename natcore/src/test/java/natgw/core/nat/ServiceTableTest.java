package natgw.core.nat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import natgw.core.nat.Services.ServiceSpec;
import natgw.core.packet.Ipv4Header;

import static natgw.core.flow.FlowTuple.parseAddress;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Lookups in one published snapshot: by (protocol, VIP, port), VIPs, removed backend ids. */
class ServiceTableTest
{
    private static final int TCP = Ipv4Header.PROTO_TCP;
    private static final int UDP = Ipv4Header.PROTO_UDP;

    private final Services services = new Services();

    @Test
    void shouldFindNothingInTheEmptyTable()
    {
        final ServiceTable empty = ServiceTable.EMPTY;
        assertTrue(empty.isEmpty());
        assertTrue(empty.services().isEmpty());
        assertNull(empty.find(TCP, parseAddress("10.96.0.10"), 80));
        assertFalse(empty.isVip(parseAddress("10.96.0.10")));
        assertFalse(empty.isVip(0));
        for (int id = 0; id < BackendCounters.MAX_BACKENDS; id++)
        {
            assertFalse(empty.isRemoved(id));
        }
    }

    @Test
    void shouldFindEveryServiceByProtocolVipAndPortAmongMany()
    {
        // many services on few VIPs: keys that differ only in port or protocol, probing past collisions
        final List<String> keys = new ArrayList<>();
        for (int vip = 0; vip < 8; vip++)
        {
            for (int port = 1; port <= 40; port++)
            {
                final String proto = port % 2 == 0 ? "udp" : "tcp";
                final String key = proto + ":10.96.0." + vip + ":" + port;
                services.add(ServiceSpec.parse(key + "=10.0." + vip + "." + port + ":" + (1000 + port)));
                keys.add(key);
            }
        }
        final ServiceTable table = services.current();
        assertEquals(keys.size(), table.services().size());
        for (int vip = 0; vip < 8; vip++)
        {
            for (int port = 1; port <= 40; port++)
            {
                final int protocol = port % 2 == 0 ? UDP : TCP;
                final Service s = table.find(protocol, parseAddress("10.96.0." + vip), port);
                assertEquals((protocol == UDP ? "udp" : "tcp") + ":10.96.0." + vip + ":" + port, s.key());
                assertEquals(parseAddress("10.0." + vip + "." + port), s.backends()[0].address());
                assertEquals(1000 + port, s.backends()[0].port());
                assertNull(table.find(protocol == UDP ? TCP : UDP, parseAddress("10.96.0." + vip), port), "other protocol");
            }
            assertNull(table.find(TCP, parseAddress("10.96.0." + vip), 41), "other port");
            assertNull(table.find(TCP, parseAddress("10.96.0." + vip), 0), "ICMP has port 0: never a service");
            assertTrue(table.isVip(parseAddress("10.96.0." + vip)));
        }
        assertNull(table.find(TCP, parseAddress("10.96.0.8"), 1), "other VIP");
        assertFalse(table.isVip(parseAddress("10.96.0.8")));
        assertFalse(table.isEmpty());
    }

    @Test
    void shouldTellRemovedBackendsFromLiveOnes()
    {
        services.add(ServiceSpec.parse("tcp:10.96.0.10:80=10.0.1.1:80,10.0.1.2:80"));
        final Service s = services.current().services().get(0);
        services.removeBackend("tcp:10.96.0.10:80", parseAddress("10.0.1.1"), 80);
        final ServiceTable table = services.current();
        assertTrue(table.isRemoved(s.backends()[0].id()));
        assertFalse(table.isRemoved(s.backends()[1].id()));
        assertThrows(IndexOutOfBoundsException.class, () -> table.isRemoved(BackendCounters.MAX_BACKENDS));
    }

    @Test
    void shouldListServicesUnmodifiably()
    {
        services.add(ServiceSpec.parse("tcp:10.96.0.10:80=10.0.1.1:80"));
        final ServiceTable table = services.current();
        assertThrows(UnsupportedOperationException.class, () -> table.services().clear());
        assertSame(table.services().get(0), table.find(TCP, parseAddress("10.96.0.10"), 80));
    }
}
