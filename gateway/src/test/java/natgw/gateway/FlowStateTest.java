package natgw.gateway;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.agrona.concurrent.CachedNanoClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import natgw.core.flow.FlowTuple;
import natgw.core.nat.BackendCounters;
import natgw.core.nat.Cidr;
import natgw.core.nat.Services;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.PacketBuilder;
import natgw.core.packet.TcpHeader;
import natgw.core.packet.UdpHeader;
import natgw.tun.testing.ChannelTun;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A gateway stopped and started again on its state file: flows carry on with their mappings. */
class FlowStateTest
{
    private static final int CLIENT = FlowTuple.parseAddress("10.77.1.2");
    private static final int OTHER_CLIENT = FlowTuple.parseAddress("10.77.1.3");
    private static final int SERVER = FlowTuple.parseAddress("10.77.2.2");
    private static final int POOL = FlowTuple.parseAddress("10.77.2.100");
    private static final int VIP = FlowTuple.parseAddress("10.77.3.10");
    private static final int BACKEND = FlowTuple.parseAddress("10.77.2.11");
    private static final Map<String, String> IDENTITY = Map.of("identity.boot", "test", "identity.netns", "1");

    @TempDir
    Path dir;
    private final CachedNanoClock clock = new CachedNanoClock();
    private final PacketBuilder packets = new PacketBuilder(new UnsafeBuffer(ByteBuffer.allocateDirect(65536)));
    private ChannelTun tun;
    private Gateway gateway;

    @AfterEach
    void close()
    {
        stop();
    }

    private GatewayConfig config()
    {
        final GatewayConfig config = new GatewayConfig();
        config.inside(List.of(Cidr.parse("10.77.1.0/24")));
        config.pool(new int[]{ POOL });
        config.conntrackMax(1024);
        config.stateFile(dir.resolve("ngw0.state"));
        config.services(List.of(Services.ServiceSpec.parse("tcp:10.77.3.10:80=10.77.2.11:8080")));
        return config;
    }

    private Gateway start(final GatewayConfig config)
    {
        tun = new ChannelTun(1);
        gateway = new Gateway(config, tun, clock, new PrintStream(new ByteArrayOutputStream()),
            FlowState.mapped(config, clock, config.stateFile(), IDENTITY));
        return gateway;
    }

    private void stop()
    {
        if (gateway != null)
        {
            gateway.close();
            tun.close();
            gateway = null;
        }
    }

    /** Sends a packet through queue 0 and returns what the gateway wrote, or null if it dropped it. */
    private byte[] send(final int length)
    {
        final byte[] packet = new byte[length];
        packets.buffer().getBytes(0, packet);
        tun.inject(0, packet);
        gateway.workers().get(0).doWork();
        return tun.takeWritten(0);
    }

    private static int udpSrcPort(final byte[] packet)
    {
        return new UdpHeader().wrap(new UnsafeBuffer(packet), Ipv4Header.MIN_LENGTH).srcPort();
    }

    private static Ipv4Header ip(final byte[] packet)
    {
        return new Ipv4Header().wrap(new UnsafeBuffer(packet), 0);
    }

    @Test
    void shouldCarryFlowsOnWithTheirMappingsAfterAStop()
    {
        clock.update(1_000_000_000L);
        start(config());
        final int first = udpSrcPort(send(packets.udp(0, CLIENT, 5353, SERVER, 53, 12)));
        final int second = udpSrcPort(send(packets.udp(0, OTHER_CLIENT, 5353, SERVER, 53, 12)));
        assertNotEquals(first, second, "two clients' flows from one port need two mappings");
        stop();

        clock.advance(5_000_000_000L);
        start(config());

        assertTrue(gateway.stateSummary().contains("2 connections kept"), gateway.stateSummary());
        final byte[] reply = send(packets.udp(0, SERVER, 53, POOL, second, 12));
        assertEquals(OTHER_CLIENT, ip(reply).dstAddress(), "the reply to the second mapping reaches its client");
        assertEquals(second, udpSrcPort(send(packets.udp(0, OTHER_CLIENT, 5353, SERVER, 53, 12))), "same mapping outbound");
        assertEquals(2, gateway.table().countInUse(), "no new connection");
    }

    @Test
    void shouldCountSurvivingServiceConnectionsAsLiveConnectionsOfTheirBackend()
    {
        clock.update(1_000_000_000L);
        start(config());
        assertEquals(BACKEND, ip(send(packets.tcp(0, CLIENT, 41000, VIP, 80, TcpHeader.SYN, 100, 0, 0))).dstAddress());
        stop();

        start(config());

        assertEquals(1, gateway.backendCounters().get(0, BackendCounters.LIVE));
        assertEquals(BACKEND, ip(send(packets.tcp(0, CLIENT, 41000, VIP, 80, TcpHeader.ACK, 101, 5000, 0))).dstAddress());
    }

    @Test
    void shouldExpireWhatTimedOutWhileStopped()
    {
        clock.update(1_000_000_000L);
        start(config());
        final int port = udpSrcPort(send(packets.udp(0, CLIENT, 5353, SERVER, 53, 12)));
        gateway.reaper().doWork(); // the reaper's reading of the clock, as every running gateway's
        stop();

        clock.advance(31_000_000_000L); // past udp's 30 s
        start(config());

        assertTrue(gateway.stateSummary().contains("1 expired"), gateway.stateSummary());
        assertNull(send(packets.udp(0, SERVER, 53, POOL, port, 12)), "no mapping: the reply is dropped");
    }

    @Test
    void shouldRefuseAStateFileOfOtherSettingsNamingThem()
    {
        clock.update(1_000_000_000L);
        start(config());
        stop();
        final GatewayConfig bigger = config();
        bigger.conntrackMax(2048);

        final IllegalStateException refused = assertThrows(IllegalStateException.class,
            () -> FlowState.mapped(bigger, clock, bigger.stateFile(), IDENTITY));

        assertTrue(refused.getMessage().contains("--conntrack-max 1024 there, 2048 here"), refused.getMessage());
    }

    @Test
    void shouldStartEmptyWhenFresh()
    {
        clock.update(1_000_000_000L);
        start(config());
        final int port = udpSrcPort(send(packets.udp(0, CLIENT, 5353, SERVER, 53, 12)));
        stop();
        final GatewayConfig fresh = config();
        fresh.fresh(true);
        fresh.conntrackMax(2048);

        start(fresh);

        assertEquals(0, gateway.table().countInUse());
        assertNull(send(packets.udp(0, SERVER, 53, POOL, port, 12)));
    }
}
