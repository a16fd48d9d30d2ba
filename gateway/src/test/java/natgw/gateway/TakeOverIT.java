package natgw.gateway;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import natgw.tun.CommandResult;
import natgw.tun.lab.Lab;
import natgw.tun.lab.LabProcess;
import natgw.tun.lab.Role;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static natgw.gateway.GatewayEndToEndIT.Gateways;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Take-overs against a real Linux server that closes first: a pool of 32 ports, four client addresses connecting one
 * connection after another, so that from the 33rd connection on every new one takes the tuple of an ended one whose
 * 4-tuple the server holds in TIME_WAIT. The server refuses a SYN whose timestamp is older than the last it took on that
 * 4-tuple (PAWS) and the client would retransmit its SYN a second later; natgw chooses another ended tuple instead. The
 * clients' TCP counts every retransmitted SYN (TcpExt TCPSynRetrans), whatever dropped it: at most
 * {@value #MAX_RETRANSMITTED} of 600 (the kernel's rule: 270). The same through a service whose backend closes first:
 * its connections are masqueraded to the pool too.
 */
@Tag("root")
class TakeOverIT
{
    static final String PREFIX = "ngwt" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xFFFF));
    static final int CLIENTS = 4;
    static final int CONNECTIONS_EACH = 150;
    static final String PORT = "8080";
    static final String SERVICE_PORT = "8081";
    static final int MAX_RETRANSMITTED = 2;

    static Lab lab;
    static LabProcess natgw;
    static LabProcess server;
    static LabProcess backend;

    @BeforeAll
    static void up() throws Exception
    {
        Gateways.requireRoot();
        lab = Lab.up(PREFIX, CLIENTS);
        server = Gateways.peer(lab, Role.SERVER, "tcp-close-first", Lab.SERVER_ADDR, PORT);
        backend = Gateways.peer(lab, Role.SERVER, "tcp-close-first", Lab.SERVER_ADDR, SERVICE_PORT);
        natgw = Gateways.start(lab, "reserve", "--port-range", "20000-20031",
            "--service", "tcp:" + Lab.VIP_ADDR + ":80=" + Lab.SERVER_ADDR + ":" + SERVICE_PORT);
    }

    @AfterAll
    static void down() throws Exception
    {
        for (final LabProcess peer : new LabProcess[] {server, backend})
        {
            if (peer != null)
            {
                peer.stop(1000);
            }
        }
        Gateways.stopAndCloseLab(natgw, lab, PREFIX);
    }

    @Test
    void shouldGiveNewConnectionsTuplesTheServerTakesInTimeWait() throws Exception
    {
        connectInALoopAndCountRetransmittedSyns(Lab.SERVER_ADDR, PORT);
    }

    @Test
    void shouldGiveNewServiceConnectionsTuplesTheBackendTakesInTimeWait() throws Exception
    {
        connectInALoopAndCountRetransmittedSyns(Lab.VIP_ADDR, "80"); // masqueraded to the pool: DNAT and SNAT
    }

    private static void connectInALoopAndCountRetransmittedSyns(final String dst, final String port) throws Exception
    {
        final long synRetransBefore = tcpExt("TCPSynRetrans");
        final String statsBefore = stats();
        final String[] loop = new String[4 + CLIENTS];
        loop[0] = "tcp-loop";
        loop[1] = dst;
        loop[2] = port;
        loop[3] = String.valueOf(CONNECTIONS_EACH);
        for (int i = 0; i < CLIENTS; i++)
        {
            loop[4 + i] = Lab.clientAddress(i);
        }

        final CommandResult result = lab.exec(Role.CLIENT, Gateways.peerCommand(loop));

        assertEquals(0, result.exitCode(), result.toString());
        assertEquals(List.of("done " + CLIENTS * CONNECTIONS_EACH + " failed 0"), result.stdout().lines().toList());
        final String stats = stats();
        assertTrue(sum(stats, "taken_over") - sum(statsBefore, "taken_over") > CLIENTS * CONNECTIONS_EACH / 2,
            "the pool's 32 tuples were taken over again and again:\n" + stats);
        assertTrue(sum(stats, "take_over_refused_timestamp") > sum(statsBefore, "take_over_refused_timestamp"),
            "some ended connection's tuple was passed over for its timestamp:\n" + stats);
        // with the kernel's rule (the sequence alone) 270 of these 600 SYNs were retransmitted, a server's refusal each;
        // with the check, 0 in most runs and 1 in about one run in six (both times with two reopened 4-tuples and no
        // SYN refused or dropped by natgw), not yet explained: a bound, not zero
        final long retransmitted = tcpExt("TCPSynRetrans") - synRetransBefore;
        assertTrue(retransmitted <= MAX_RETRANSMITTED,
            retransmitted + " SYNs retransmitted: refused by the server, or dropped for want of a tuple\n" + stats);
    }

    private static String stats()
    {
        return lab.exec(Role.GW, Gateways.natgwCommand("conntrack", "-S")).orThrow().stdout();
    }

    /** A TcpExt counter of the client namespace (/proc/net/netstat: a line of names, then a line of values). */
    private static long tcpExt(final String name)
    {
        final long value = lab.tcpExt(Role.CLIENT, name);
        if (value < 0)
        {
            throw new IllegalStateException("no TcpExt " + name + " in /proc/net/netstat of the client namespace");
        }
        return value;
    }

    /** A counter of {@code natgw conntrack -S}, summed over its workers' lines. */
    private static long sum(final String stats, final String counter)
    {
        long total = 0;
        for (final String line : stats.split("\n"))
        {
            for (final String field : line.trim().split("\\s+"))
            {
                if (field.startsWith(counter + "="))
                {
                    total += Long.parseLong(field.substring(counter.length() + 1));
                }
            }
        }
        return total;
    }
}
