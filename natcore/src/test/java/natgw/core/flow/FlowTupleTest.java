package natgw.core.flow;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import static natgw.core.flow.FlowTuple.parseAddress;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FlowTupleTest
{
    @Test
    void shouldUnpackWhatWasPackedForEveryPortRange()
    {
        final SplittableRandom random = new SplittableRandom(5);
        for (int i = 0; i < 100_000; i++)
        {
            final int src = random.nextInt();
            final int dst = random.nextInt();
            final int protocol = random.nextInt(256);
            final int srcPort = i < 4 ? new int[]{ 0, 32767, 32768, 65535 }[i] : random.nextInt(0x10000);
            final int dstPort = random.nextInt(0x10000);
            final long addresses = FlowTuple.packAddresses(src, dst);
            final long ports = FlowTuple.packPorts(protocol, srcPort, dstPort);
            assertEquals(src, FlowTuple.srcAddress(addresses));
            assertEquals(dst, FlowTuple.dstAddress(addresses));
            assertEquals(protocol, FlowTuple.protocol(ports));
            assertEquals(srcPort, FlowTuple.srcPort(ports));
            assertEquals(dstPort, FlowTuple.dstPort(ports));
        }
    }

    @Test
    void shouldNotLetHighSourcePortLeakIntoProtocol()
    {
        // a source port >= 32768 shifted as an int is negative: it must not sign-extend over the protocol
        final long ports = FlowTuple.packPorts(6, 40001, 8080);
        assertEquals(6, FlowTuple.protocol(ports));
        assertEquals(0x6_9c41_1f90L, ports);
        assertNotEquals(FlowTuple.packPorts(6, 40001, 80), FlowTuple.packPorts(17, 40001, 80));
    }

    @Test
    void shouldInvertToTheReplyTuple()
    {
        final int client = parseAddress("10.0.0.2");
        final int server = parseAddress("203.0.113.9");
        final long addresses = FlowTuple.packAddresses(client, server);
        final long ports = FlowTuple.packPorts(17, 40000, 53);
        assertEquals(FlowTuple.packAddresses(server, client), FlowTuple.invertAddresses(addresses));
        assertEquals(FlowTuple.packPorts(17, 53, 40000), FlowTuple.invertPorts(ports));
        assertEquals(addresses, FlowTuple.invertAddresses(FlowTuple.invertAddresses(addresses)));
        assertEquals(ports, FlowTuple.invertPorts(FlowTuple.invertPorts(ports)));
        final long high = FlowTuple.packAddresses(parseAddress("255.0.0.1"), parseAddress("128.1.2.3"));
        assertEquals(FlowTuple.packAddresses(parseAddress("128.1.2.3"), parseAddress("255.0.0.1")), FlowTuple.invertAddresses(high));
    }

    @Test
    void shouldPutIcmpIdentifierWhereEachDirectionsPortGoes()
    {
        // request: identifier as source port; reply: as destination port; one is the other's inverse
        final long request = FlowTuple.packPorts(1, 0x1234, 0);
        final long reply = FlowTuple.packPorts(1, 0, 0x1234);
        assertEquals(reply, FlowTuple.invertPorts(request));
    }

    @Test
    void shouldSpreadHashesOfSimilarTuplesAndDependOnSeed()
    {
        final Set<Integer> buckets = new HashSet<>();
        final long addresses = FlowTuple.packAddresses(parseAddress("10.0.0.2"), parseAddress("203.0.113.9"));
        for (int port = 1024; port < 1024 + 4096; port++)
        {
            buckets.add(FlowTuple.hash(addresses, FlowTuple.packPorts(6, port, 443), 99) & 4095);
        }
        assertTrue(buckets.size() > 2400, "4096 consecutive ports into 4096 buckets filled only " + buckets.size());
        final long ports = FlowTuple.packPorts(6, 1024, 443);
        assertEquals(FlowTuple.hash(addresses, ports, 1), FlowTuple.hash(addresses, ports, 1));
        assertNotEquals(FlowTuple.hash(addresses, ports, 1), FlowTuple.hash(addresses, ports, 2));
    }

    @Test
    void shouldParseAndFormatDottedQuads()
    {
        assertEquals(0x0A000001, parseAddress("10.0.0.1"));
        assertEquals(0xFFFFFFFF, parseAddress("255.255.255.255"));
        assertEquals(0, parseAddress(" 0.0.0.0 "));
        assertEquals("192.168.200.7", FlowTuple.addressToString(parseAddress("192.168.200.7")));
        assertEquals("255.255.255.255", FlowTuple.addressToString(-1));
        assertEquals("proto=6 src=10.0.0.1 dst=10.0.0.2 sport=40001 dport=80",
            FlowTuple.toString(FlowTuple.packAddresses(0x0A000001, 0x0A000002), FlowTuple.packPorts(6, 40001, 80)));
    }

    @Test
    void shouldRejectMalformedAddressesNamingTheText()
    {
        for (final String bad : new String[]{ "", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1..2.3", "a.b.c.d", "-1.0.0.0", "1.2.3.0004" })
        {
            final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> parseAddress(bad), bad);
            assertTrue(ex.getMessage().contains("'" + bad + "'"), ex.getMessage());
        }
    }
}
