package natgw.core.conntrack.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.L_Result;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.StatusDescriptor;
import natgw.core.conntrack.TcpState;
import natgw.core.flow.FlowTuple;
import natgw.core.nat.NatAllocator;
import natgw.core.nat.PortStrategy;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.TcpHeader;

import static natgw.core.conntrack.jcstress.Fixture.*;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * The pool has one NAT tuple left to the server, held by a connection in CLOSE. Two clients' SYNs, on two
 * workers at once, both reach the search's last attempts and both may take it over (their sequence numbers are past
 * the closed connection's end): the closed connection ends once, and exactly one new connection gets the tuple; the
 * other is refused as pool_exhausted.
 */
@JCStressTest
@Description("Two SYNs take over one closed connection's NAT tuple at once: one wins, one is refused, none shares.")
@Outcome(id = "ONE_WINS", expect = ACCEPTABLE, desc = "one connection holds the tuple, the other SYN was refused")
@Outcome(id = "BOTH_CONNECTED", expect = FORBIDDEN, desc = "two connections created from one NAT tuple")
@Outcome(id = "BOTH_REFUSED", expect = FORBIDDEN, desc = "the closed connection's tuple was lost to both")
@Outcome(expect = FORBIDDEN, desc = "table inconsistent after the race")
@State
public class TakeOverRace
{
    static final int PORT = 1024;
    static final int HTTP = 80;
    static final int SYN_SENT = StatusDescriptor.SRC_NAT | TcpState.SYN_SENT << StatusDescriptor.TCP_STATE_SHIFT;
    static final long TCP_B = FlowTuple.packPorts(Ipv4Header.PROTO_TCP, CLIENT_PORT, HTTP);
    static final int CLOSED_SEQUENCE = 1000;
    static final int NEW_SEQUENCE = 2000;

    final ConntrackTable table = new ConntrackTable(4, 0);
    final NatAllocator allocator1 = allocator(table, PortStrategy.RESERVE, true, 1);
    final NatAllocator allocator2 = allocator(table, PortStrategy.RESERVE, true, 2);
    final ConntrackTable.Cursor cursor1 = new ConntrackTable.Cursor();
    final ConntrackTable.Cursor cursor2 = new ConntrackTable.Cursor();
    int entry1;
    int entry2;

    public TakeOverRace()
    {
        final ConntrackTable.Cursor cursor = new ConntrackTable.Cursor();
        final int closed = allocator(table, PortStrategy.RESERVE, true, 3).connect(cursor,
            FlowTuple.packAddresses(FlowTuple.parseAddress("10.77.1.9"), SERVER), TCP_B, POOL, SERVER, HTTP, PORT, PORT, SYN_SENT, 0, DEADLINE_MS,
            true, CLOSED_SEQUENCE, TcpHeader.NO_TIMESTAMP);
        final int status = table.status(closed);
        if (closed < 0 || !table.compareAndSetStatus(closed, status, StatusDescriptor.withTcpState(status, TcpState.CLOSE)))
        {
            throw new IllegalStateException("closed connection not set up");
        }
    }

    @Actor
    public void client1()
    {
        entry1 = allocator1.connect(cursor1, FlowTuple.packAddresses(CLIENT_1, SERVER), TCP_B, POOL, SERVER, HTTP, PORT, PORT, SYN_SENT, 0, DEADLINE_MS,
            true, NEW_SEQUENCE, TcpHeader.NO_TIMESTAMP);
    }

    @Actor
    public void client2()
    {
        entry2 = allocator2.connect(cursor2, FlowTuple.packAddresses(CLIENT_2, SERVER), TCP_B, POOL, SERVER, HTTP, PORT, PORT, SYN_SENT, 0, DEADLINE_MS,
            true, NEW_SEQUENCE, TcpHeader.NO_TIMESTAMP);
    }

    @Arbiter
    public void verdict(final L_Result r)
    {
        if (entry1 >= 0 && entry2 >= 0)
        {
            r.r1 = "BOTH_CONNECTED";
            return;
        }
        if (entry1 < 0 && entry2 < 0)
        {
            r.r1 = "BOTH_REFUSED";
            return;
        }
        final int winner = Math.max(entry1, entry2);
        final int client = entry1 >= 0 ? CLIENT_1 : CLIENT_2;
        if (!Collision.holds(table, winner, FlowTuple.packAddresses(client, SERVER), TCP_B) ||
            FlowTuple.dstPort(table.tuplePorts(winner, ConntrackTable.REPLY)) != PORT)
        {
            r.r1 = "WINNER_NOT_IN_TABLE";
            return;
        }
        if (table.countInUse() != 1)
        {
            r.r1 = "ENTRIES_IN_USE_" + table.countInUse();
            return;
        }
        final String freeList = freeListProblem(table);
        r.r1 = freeList != null ? freeList : "ONE_WINS";
    }
}
