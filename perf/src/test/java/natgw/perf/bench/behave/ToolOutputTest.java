package natgw.perf.bench.behave;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Output captured in the lab (Linux 6.18, traceroute 2.1, iputils 20221126, tcpdump 4.99) through the kernel's
 * masquerade, through natgw before it counted one hop, and with no NAT at all.
 */
class ToolOutputTest
{
    static String fixture(final String name) throws IOException
    {
        try (InputStream in = ToolOutputTest.class.getResourceAsStream("/natgw/perf/behave/" + name))
        {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void shouldReadOneTracerouteHopPerTtl() throws IOException
    {
        assertEquals(List.of("10.77.1.1", "10.77.2.2"),
            ToolOutput.tracerouteHops(fixture("traceroute-kernel-masquerade.txt")));
    }

    @Test
    void shouldReadASilentTracerouteHopAsStar() throws IOException
    {
        assertEquals(List.of("10.77.1.1", "*", "10.77.2.2"),
            ToolOutput.tracerouteHops(fixture("traceroute-natgw-two-hops.txt")));
    }

    @Test
    void shouldReadTracepathHopsOncePerTtlWithoutLocalhost() throws IOException
    {
        assertEquals(List.of("10.77.1.1", "10.77.2.2"),
            ToolOutput.tracepathHops(fixture("tracepath-kernel-masquerade.txt")));
        assertEquals(List.of("10.77.1.1", "*", "10.77.2.2"),
            ToolOutput.tracepathHops(fixture("tracepath-natgw-two-hops.txt")));
    }

    @Test
    void shouldReadTracepathHopsToTheDestination() throws IOException
    {
        assertEquals(2, ToolOutput.tracepathReachedHops(fixture("tracepath-kernel-masquerade.txt")));
        assertEquals(3, ToolOutput.tracepathReachedHops(fixture("tracepath-natgw-two-hops.txt")));
    }

    @Test
    void shouldReportAnUnreachedDestinationAsMinusOne() throws IOException
    {
        assertEquals(-1, ToolOutput.tracepathReachedHops(fixture("tracepath-no-nat.txt")));
        assertEquals(List.of("10.77.1.1", "*", "*", "*"), ToolOutput.tracepathHops(fixture("tracepath-no-nat.txt")));
    }

    @Test
    void shouldReadEchoRequestIdsAndDestinationsFromTcpdump() throws IOException
    {
        final List<ToolOutput.EchoRequest> requests =
            ToolOutput.echoRequests(fixture("tcpdump-echo-requests.txt").lines().toList());
        assertEquals(List.of(new ToolOutput.EchoRequest("10.77.2.1", "10.77.2.2", 24443, 1),
            new ToolOutput.EchoRequest("10.77.2.1", "10.77.2.50", 24443, 1)), requests);
    }
}
