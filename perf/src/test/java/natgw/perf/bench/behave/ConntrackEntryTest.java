package natgw.perf.bench.behave;

import java.io.IOException;
import java.util.List;

import org.junit.jupiter.api.Test;

import static natgw.perf.bench.behave.ToolOutputTest.fixture;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** {@code conntrack -L} of the gateway namespace (conntrack-tools 1.4.7) and {@code natgw conntrack -L}, captured. */
class ConntrackEntryTest
{
    @Test
    void shouldReadEveryEntryOfTheKernelsListingAndSkipTheSummary() throws IOException
    {
        final List<ConntrackEntry> entries = ConntrackEntry.parse(fixture("conntrack-L-kernel.txt"));
        assertEquals(4, entries.size());
        assertEquals(new ConntrackEntry("udp", 26, "", "10.77.1.2", "10.77.2.2", 51263, 33437, false), entries.get(0));
        assertEquals(new ConntrackEntry("tcp", 118, "TIME_WAIT", "10.77.1.68", "10.77.2.2", 40112, 7220, true),
            entries.get(2));
    }

    @Test
    void shouldTakeTheIcmpIdAsSourcePort() throws IOException
    {
        final ConntrackEntry icmp = ConntrackEntry.parse(fixture("conntrack-L-kernel.txt")).get(1);
        assertEquals("icmp", icmp.proto());
        assertEquals(4242, icmp.sport());
        assertEquals(0, icmp.dport());
        assertEquals(27, icmp.timeoutS());
    }

    @Test
    void shouldReadNatgwsListingWithCounters() throws IOException
    {
        final List<ConntrackEntry> entries = ConntrackEntry.parse(fixture("conntrack-L-natgw.txt"));
        assertEquals(3, entries.size());
        assertEquals(239, ConntrackEntry.find(entries, "tcp", "10.77.1.68", 7220).timeoutS());
        assertEquals(59, ConntrackEntry.find(entries, "icmp", "10.77.1.69", 0).timeoutS());
    }

    @Test
    void shouldFindByProtocolSourceAndDestinationPort() throws IOException
    {
        final List<ConntrackEntry> entries = ConntrackEntry.parse(fixture("conntrack-L-kernel.txt"));
        assertEquals(29, ConntrackEntry.find(entries, "udp", "10.77.1.70", 7220).timeoutS());
        assertNull(ConntrackEntry.find(entries, "udp", "10.77.1.70", 7221));
        assertNull(ConntrackEntry.find(entries, "tcp", "10.77.1.70", 0));
    }
}
