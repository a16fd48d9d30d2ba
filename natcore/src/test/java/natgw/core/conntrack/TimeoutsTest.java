package natgw.core.conntrack;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TimeoutsTest
{
    @Test
    void shouldDefaultToLinuxTimeouts()
    {
        final Timeouts timeouts = new Timeouts();
        assertEquals(120_000, timeouts.tcpMs(TcpState.SYN_SENT));
        assertEquals(60_000, timeouts.tcpMs(TcpState.SYN_RECV));
        assertEquals(432_000_000, timeouts.tcpMs(TcpState.ESTABLISHED));
        assertEquals(120_000, timeouts.tcpMs(TcpState.TIME_WAIT));
        assertEquals(10_000, timeouts.tcpMs(TcpState.CLOSE));
        assertEquals(30_000, timeouts.udpUnrepliedMs());
        assertEquals(120_000, timeouts.udpRepliedMs());
        assertEquals(30_000, timeouts.icmpMs());
    }

    @Test
    void shouldKeepNoTimerOfTheRfcPresetBelowWhatTheNatRfcsRequire()
    {
        final Timeouts rfc = Timeouts.preset("rfc");
        assertEquals(120_000, rfc.udpUnrepliedMs(), "RFC 4787 REQ-5: 2 minutes");
        assertEquals(300_000, rfc.udpRepliedMs(), "RFC 4787 REQ-5: 5 minutes recommended");
        assertEquals(60_000, rfc.icmpMs(), "RFC 5508 REQ-2");
        for (final int state : new int[]{ TcpState.SYN_SENT, TcpState.SYN_RECV, TcpState.FIN_WAIT, TcpState.CLOSE_WAIT,
            TcpState.LAST_ACK, TcpState.TIME_WAIT, TcpState.SYN_SENT2 })
        {
            assertEquals(240_000, rfc.tcpMs(state), "RFC 5382 REQ-5, transitory: " + TcpState.name(state));
        }
        assertEquals(432_000_000, rfc.tcpMs(TcpState.ESTABLISHED), "Linux's 5 days, above RFC 5382's 2 h 4 min");
        assertEquals(new Timeouts().toString(), Timeouts.preset("linux").toString());
    }

    @Test
    void shouldRefuseAnUnknownPresetNamingTheKnownOnes()
    {
        final IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> Timeouts.preset("bsd"));
        assertEquals("unknown timeout preset 'bsd'; use linux or rfc", refused.getMessage());
    }

    @Test
    void shouldApplySysctlNamesInSeconds()
    {
        final Timeouts timeouts = new Timeouts()
            .apply("tcp_syn_sent", 5).apply("tcp_established", 3600).apply("tcp_time_wait", 1)
            .apply("udp", 10).apply("udp_stream", 60).apply("icmp", 2);
        assertEquals(5_000, timeouts.tcpMs(TcpState.SYN_SENT));
        assertEquals(5_000, timeouts.tcpMs(TcpState.SYN_SENT2), "tcp_syn_sent covers SYN_SENT2 as in Linux");
        assertEquals(3_600_000, timeouts.tcpMs(TcpState.ESTABLISHED));
        assertEquals(1_000, timeouts.tcpMs(TcpState.TIME_WAIT));
        assertEquals(10_000, timeouts.udpUnrepliedMs());
        assertEquals(60_000, timeouts.udpRepliedMs());
        assertEquals(2_000, timeouts.icmpMs());
    }

    @Test
    void shouldRejectUnknownNamesListingKnownOnes()
    {
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> new Timeouts().apply("tcp_syn", 5));
        assertTrue(ex.getMessage().contains("'tcp_syn'") && ex.getMessage().contains("tcp_syn_sent"), ex.getMessage());
    }

    @Test
    void shouldRejectTimeoutsThatWouldWrapDeadlines()
    {
        assertThrows(IllegalArgumentException.class, () -> new Timeouts().udpUnrepliedMs(0));
        assertThrows(IllegalArgumentException.class, () -> new Timeouts().icmpMs(500_000_001));
        assertThrows(IllegalArgumentException.class, () -> new Timeouts().apply("udp", 600_000));
        assertThrows(ArithmeticException.class, () -> new Timeouts().apply("udp", Integer.MAX_VALUE));
        assertEquals(500_000_000, new Timeouts().tcpMs(TcpState.ESTABLISHED, 500_000_000).tcpMs(TcpState.ESTABLISHED));
    }
}
