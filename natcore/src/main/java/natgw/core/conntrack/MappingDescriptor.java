package natgw.core.conntrack;

import natgw.core.flow.FlowTuple;

import static natgw.core.conntrack.ConntrackTable.ORIGINAL;
import static natgw.core.conntrack.ConntrackTable.REPLY;

/**
 * The layout of an endpoint mapping: an entry of the conntrack table that gives one inside endpoint (protocol,
 * address, port or ICMP identifier) one external endpoint (pool address, port), RFC 4787's endpoint-independent
 * mapping. It is an entry like a connection's, so insert-if-absent, reserve-then-confirm, the state file and
 * recovery hold for it unchanged; its tuples carry {@link #PROTOCOL_MARK} above the protocol, which no packet's
 * tuple has, so no packet ever matches one:
 * <pre>
 *   ORIGINAL  addresses = inside &lt;&lt; 32 | 0      ports = (MARK | protocol) &lt;&lt; 32 | insidePort &lt;&lt; 16 | 0
 *   REPLY     addresses = 0 &lt;&lt; 32 | pool        ports = (MARK | protocol) &lt;&lt; 32 | 0 &lt;&lt; 16 | externalPort
 * </pre>
 * Its ORIGINAL node makes it the only mapping of its inside endpoint, its REPLY node makes the external port its
 * alone (RFC 4787 REQ-3). The status is {@link StatusDescriptor#MAPPED} alone. The record's first long, which a
 * connection's owner alone writes (policy data, first deadline), is the mapping's uses:
 * <pre>
 *   users word = users &lt;&lt; 32 | tag       tag = 1 &lt;&lt; 31 | generation
 * </pre>
 * The tag is the incarnation: a use is taken by a CAS that expects it, so a stale taker never counts into a later
 * incarnation, a connection (whose policy data never has bit 31) or a free entry (whose free-list link never has
 * it either).
 */
public final class MappingDescriptor
{
    /** Above the 8 bits of a protocol: marks a mapping's tuples (and a permission's). */
    public static final int PROTOCOL_MARK = 0x100;
    /** With {@link #PROTOCOL_MARK}: a permission's tuples. */
    public static final int PERMISSION_MARK = 0x200;
    /** With both: a permission's REPLY tuple, so it never equals another permission's ORIGINAL one. */
    private static final int PERMISSION_REPLY_MARK = 0x400;

    private MappingDescriptor()
    {
    }

    public static long endpointAddresses(final int insideAddress)
    {
        return FlowTuple.packAddresses(insideAddress, 0);
    }

    public static long endpointPorts(final int protocol, final int insidePort)
    {
        return FlowTuple.packPorts(PROTOCOL_MARK | protocol, insidePort, 0);
    }

    public static long externalAddresses(final int poolAddress)
    {
        return FlowTuple.packAddresses(0, poolAddress);
    }

    public static long externalPorts(final int protocol, final int externalPort)
    {
        return FlowTuple.packPorts(PROTOCOL_MARK | protocol, 0, externalPort);
    }

    /**
     * A permission (address-dependent filtering, RFC 4787 REQ-8): the inside endpoint has a connection to the remote
     * address; it holds a use of the endpoint's mapping, and the endpoint's connections to that address hold uses of
     * it. Same status and uses as a mapping:
     * <pre>
     *   ORIGINAL  addresses = inside &lt;&lt; 32 | remote    ports = (MARK | PERMISSION | protocol) &lt;&lt; 32 | insidePort &lt;&lt; 16
     *   REPLY     addresses = remote &lt;&lt; 32 | inside    ports = (MARK | PERMISSION | REPLY | protocol) &lt;&lt; 32 | insidePort
     * </pre>
     */
    public static long permissionAddresses(final int insideAddress, final int remoteAddress)
    {
        return FlowTuple.packAddresses(insideAddress, remoteAddress);
    }

    public static long permissionPorts(final int protocol, final int insidePort)
    {
        return FlowTuple.packPorts(PROTOCOL_MARK | PERMISSION_MARK | protocol, insidePort, 0);
    }

    public static long permissionReplyPorts(final int protocol, final int insidePort)
    {
        return FlowTuple.packPorts(PROTOCOL_MARK | PERMISSION_MARK | PERMISSION_REPLY_MARK | protocol, 0, insidePort);
    }

    /** True for a tuple of a permission. */
    public static boolean isPermissionTuple(final long ports)
    {
        return (ports >>> 32 & PERMISSION_MARK) != 0;
    }

    /** The pool address of a mapping's REPLY tuple. */
    public static int poolAddress(final long externalAddresses)
    {
        return FlowTuple.dstAddress(externalAddresses);
    }

    /** The external port (ICMP: identifier) of a mapping's REPLY tuple. */
    public static int externalPort(final long externalPorts)
    {
        return FlowTuple.dstPort(externalPorts);
    }

    /** True for a tuple of a mapping. */
    public static boolean isMappingTuple(final long ports)
    {
        return (ports >>> 32 & PROTOCOL_MARK) != 0;
    }

    /** The incarnation tag of a mapping whose status is {@code status}. */
    static int tag(final int status)
    {
        return 1 << 31 | status >>> StatusDescriptor.GENERATION_SHIFT;
    }

    /** The status of the CONFIRMED mapping (or permission) whose tag is {@code tag}: its flags never change. */
    static int confirmedStatus(final int tag)
    {
        return (tag & 0x7FFF_FFFF) << StatusDescriptor.GENERATION_SHIFT | StatusDescriptor.MAPPED | StatusDescriptor.PHASE_CONFIRMED;
    }

    /**
     * The direction whose tuple's source is the inside endpoint of a connection that holds a mapping: ORIGINAL for
     * one that translates its source (outbound, hairpin), REPLY for one an outside host opened through a mapping
     * (its destination is translated to the inside endpoint).
     */
    public static int insideDirection(final int status)
    {
        return (status & StatusDescriptor.SRC_NAT) != 0 ? ORIGINAL : REPLY;
    }
}
