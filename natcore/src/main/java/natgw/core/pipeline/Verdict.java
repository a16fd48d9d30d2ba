package natgw.core.pipeline;

import natgw.core.packet.DropReason;

/**
 * What the stages return, in one int with no object per packet.
 * <pre>
 *   verdict  >= 0   drop: the {@link DropReason}'s id (the pipeline counts it)
 *            -1     FORWARD: write the packet back, rewritten or answered in its buffer
 *            -2     PARSED: validated; the lookup follows
 *            -3     PARSED_ICMP_ERROR: a validated ICMP error; its translation follows
 *            -4     PARSED_FRAGMENT: a validated fragment other than the first; its train decides
 *            -5     HELD: a fragment kept until its first fragment comes (neither written nor dropped now)
 *
 *   entry or done   >= 0   the connection's entry, the cursor on it
 *                   &lt; 0   done: the packet's verdict v, as -(v + 2)
 * </pre>
 * The second form is for a stage that finds or creates a connection (policy on a miss): a negative int
 * carries every final verdict, FORWARD included, beside any entry (HELD never takes this form).
 */
public final class Verdict
{
    public static final int FORWARD = -1;
    static final int PARSED = -2;
    static final int PARSED_ICMP_ERROR = -3;
    static final int PARSED_FRAGMENT = -4;
    public static final int HELD = -5;

    private Verdict()
    {
    }

    public static int drop(final DropReason reason)
    {
        return reason.id();
    }

    public static boolean isDrop(final int verdict)
    {
        return verdict >= 0;
    }

    /** The reason of a {@link #isDrop drop} verdict. */
    public static DropReason dropReason(final int verdict)
    {
        return DropReason.get(verdict);
    }

    /** An entry-or-done for a packet that is done with {@code verdict}. */
    static int done(final int verdict)
    {
        return -(verdict + 2);
    }

    static boolean isEntry(final int entryOrDone)
    {
        return entryOrDone >= 0;
    }

    /** The verdict of an entry-or-done that is not an entry. */
    static int verdictOf(final int done)
    {
        return -done - 2;
    }
}
