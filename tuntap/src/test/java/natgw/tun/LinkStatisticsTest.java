package natgw.tun;

import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class LinkStatisticsTest
{
    private static final List<String> PROC_NET_DEV = List.of(
        "Inter-|   Receive                                                |  Transmit",
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed",
        "    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0",
        " ngw0: 9876543   12345    0    0    0     0          0         0 88776655   44332    0 1111    0     0       0          0");

    @Test
    void shouldReadTheTransmitDropsOfTheNamedDevice()
    {
        assertEquals(1111, LinkStatistics.txDropped(PROC_NET_DEV, "ngw0"));
        assertEquals(0, LinkStatistics.txDropped(PROC_NET_DEV, "lo"));
    }

    @Test
    void shouldSayMinusOneForADeviceNotListed()
    {
        assertEquals(-1, LinkStatistics.txDropped(PROC_NET_DEV, "ngw"));
    }

    @Test
    void shouldReadThisNamespacesLoopback()
    {
        assertEquals(true, LinkStatistics.txDropped("lo") >= 0);
    }
}
