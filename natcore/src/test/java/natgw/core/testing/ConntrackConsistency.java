package natgw.core.testing;

import java.util.HashSet;
import java.util.Set;

import natgw.core.conntrack.StatusDescriptor;
import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.TcpState;
import natgw.core.flow.FlowTuple;
import natgw.core.nat.SnatPolicy;
import natgw.core.packet.Ipv4Header;

import static natgw.core.conntrack.StatusDescriptor.ASSURED;
import static natgw.core.conntrack.StatusDescriptor.DST_NAT;
import static natgw.core.conntrack.ConntrackTable.ORIGINAL;
import static natgw.core.conntrack.StatusDescriptor.PHASE_CONFIRMED;
import static natgw.core.conntrack.StatusDescriptor.PHASE_FREE;
import static natgw.core.conntrack.ConntrackTable.REPLY;
import static natgw.core.conntrack.StatusDescriptor.SEEN_REPLY;
import static natgw.core.conntrack.StatusDescriptor.SRC_NAT;

/**
 * Checks a table at rest (no thread inside it) for entries in an impossible state: what every reserve, confirm,
 * claim, kill and free must leave behind. Returns the first violation as text, or null.
 * <ul>
 *   <li>every entry is FREE or CONFIRMED: a RESERVED entry is a reservation nobody confirmed or abandoned, a DYING
 *   one a kill that did not finish;</li>
 *   <li>both tuples of a CONFIRMED entry are linked and found as that entry, in their direction, and no tuple is
 *   held twice;</li>
 *   <li>both directions carry one protocol; a TCP state only on TCP, and a state that exists;</li>
 *   <li>ASSURED only with SEEN_REPLY;</li>
 *   <li>without NAT flags the reply is the inverse of the original; with SRC_NAT the reply goes to a pool address,
 *   never to an inside one; a deadline no further ahead than {@code maxTimeoutMs}.</li>
 * </ul>
 */
public final class ConntrackConsistency
{
    private ConntrackConsistency()
    {
    }

    public static String check(final ConntrackTable table, final SnatPolicy snat, final int nowMs, final int maxTimeoutMs)
    {
        final Set<String> tuples = new HashSet<>();
        int confirmed = 0;
        for (int entry = 0; entry < table.capacity(); entry++)
        {
            final int status = table.status(entry);
            final int phase = StatusDescriptor.phase(status);
            if (phase == PHASE_FREE)
            {
                continue;
            }
            if (phase != PHASE_CONFIRMED)
            {
                return describe(table, entry, status, "phase " + phase + " at rest");
            }
            confirmed++;
            for (int dir = ORIGINAL; dir <= REPLY; dir++)
            {
                final long a = table.tupleAddresses(entry, dir);
                final long b = table.tuplePorts(entry, dir);
                final long found = table.findLinked(a, b, table.bucket(a, b));
                if (found == ConntrackTable.NOT_FOUND || ConntrackTable.foundEntry(found) != entry ||
                    ConntrackTable.foundDir(found) != dir)
                {
                    return describe(table, entry, status, (dir == ORIGINAL ? "original" : "reply") +
                        " tuple not linked to it (found " + found + ")");
                }
                if (!tuples.add(a + ":" + b))
                {
                    return describe(table, entry, status, "a tuple held twice");
                }
            }
            final String why = flagsAndTuples(table, entry, status, snat);
            if (why != null)
            {
                return describe(table, entry, status, why);
            }
            if (table.deadlineMs(entry) - nowMs > maxTimeoutMs)
            {
                return describe(table, entry, status, "deadline " + (table.deadlineMs(entry) - nowMs) + " ms ahead");
            }
        }
        if (table.countInUse() != confirmed)
        {
            return "countInUse " + table.countInUse() + " but " + confirmed + " confirmed";
        }
        return null;
    }

    private static String flagsAndTuples(final ConntrackTable table, final int entry, final int status, final SnatPolicy snat)
    {
        final long origA = table.tupleAddresses(entry, ORIGINAL);
        final long origB = table.tuplePorts(entry, ORIGINAL);
        final long replyA = table.tupleAddresses(entry, REPLY);
        final long replyB = table.tuplePorts(entry, REPLY);
        final int protocol = FlowTuple.protocol(origB);
        if (FlowTuple.protocol(replyB) != protocol)
        {
            return "protocols differ";
        }
        final int tcpState = StatusDescriptor.tcpState(status);
        if (protocol == Ipv4Header.PROTO_TCP ? tcpState > TcpState.SYN_SENT2 || tcpState == TcpState.NONE : tcpState != 0)
        {
            return "tcp state " + tcpState + " on protocol " + protocol;
        }
        if ((status & ASSURED) != 0 && (status & SEEN_REPLY) == 0)
        {
            return "ASSURED without SEEN_REPLY";
        }
        if ((status & (SRC_NAT | DST_NAT)) == 0 &&
            (replyA != FlowTuple.invertAddresses(origA) || replyB != FlowTuple.invertPorts(origB)))
        {
            return "untranslated, yet the reply is not the original's inverse";
        }
        if ((status & SRC_NAT) != 0)
        {
            final int translatedSource = FlowTuple.dstAddress(replyA);
            if (!snat.isPoolAddress(translatedSource) || snat.isInside(translatedSource))
            {
                return "SRC_NAT to " + FlowTuple.addressToString(translatedSource) + ", not a pool address";
            }
        }
        return null;
    }

    private static String describe(final ConntrackTable table, final int entry, final int status, final String why)
    {
        return "entry " + entry + " (status 0x" + Integer.toHexString(status) + ", " +
            FlowTuple.toString(table.tupleAddresses(entry, ORIGINAL), table.tuplePorts(entry, ORIGINAL)) + " / " +
            FlowTuple.toString(table.tupleAddresses(entry, REPLY), table.tuplePorts(entry, REPLY)) + "): " + why;
    }
}
