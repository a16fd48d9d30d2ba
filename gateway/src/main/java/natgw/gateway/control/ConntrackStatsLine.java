package natgw.gateway.control;

import java.util.EnumSet;

import natgw.core.conntrack.ConntrackCounter;
import natgw.core.conntrack.WorkerCounters;
import natgw.core.packet.DropReason;

/**
 * One worker's line of {@code natgw conntrack -S}: first the ten fields conntrack-tools 1.4 prints for a CPU of
 * the kernel, byte for byte ({@code cpu=%-4u\t}, then {@code name=value } each, in the kernel's order), then natgw's
 * own counters in the same {@code name=value} form, so scripts written for the kernel's lines read natgw's.
 */
final class ConntrackStatsLine
{
    /** Drops of packets natgw could not parse: what the kernel counts as {@code error}. */
    private static final EnumSet<DropReason> ERRORS = EnumSet.of(
        DropReason.TRUNCATED, DropReason.BAD_VERSION, DropReason.BAD_HEADER_LENGTH, DropReason.BAD_TOTAL_LENGTH,
        DropReason.BAD_HEADER_CHECKSUM, DropReason.BAD_L4_LENGTH, DropReason.BAD_L4_CHECKSUM,
        DropReason.BAD_EMBEDDED_PACKET, DropReason.BAD_VNET_HEADER);
    private static final EnumSet<ConntrackCounter> KERNELS = EnumSet.of(
        ConntrackCounter.FOUND, ConntrackCounter.INVALID, ConntrackCounter.INSERT, ConntrackCounter.INSERT_FAILED,
        ConntrackCounter.DROP, ConntrackCounter.EARLY_DROP, ConntrackCounter.SEARCH_RESTART, ConntrackCounter.CLASH_RESOLVE);

    private ConntrackStatsLine()
    {
    }

    static String format(final WorkerCounters c)
    {
        final StringBuilder sb = new StringBuilder(512).append("cpu=").append(c.worker());
        for (int pad = String.valueOf(c.worker()).length(); pad < 4; pad++)
        {
            sb.append(' ');
        }
        long errors = 0;
        for (final DropReason reason : ERRORS)
        {
            errors += c.get(reason);
        }
        sb.append('\t')
            .append("found=").append(c.get(ConntrackCounter.FOUND))
            .append(" invalid=").append(c.get(ConntrackCounter.INVALID))
            .append(" insert=").append(c.get(ConntrackCounter.INSERT))
            .append(" insert_failed=").append(c.get(ConntrackCounter.INSERT_FAILED))
            .append(" drop=").append(c.get(ConntrackCounter.DROP))
            .append(" early_drop=").append(c.get(ConntrackCounter.EARLY_DROP))
            .append(" error=").append(errors)
            .append(" search_restart=").append(c.get(ConntrackCounter.SEARCH_RESTART))
            .append(" clash_resolve=").append(c.get(ConntrackCounter.CLASH_RESOLVE))
            .append(" chaintoolong=0 "); // natgw's chains have no length limit
        for (final ConntrackCounter counter : ConntrackCounter.values())
        {
            if (!KERNELS.contains(counter))
            {
                sb.append(counter.label()).append('=').append(c.get(counter)).append(' ');
            }
        }
        for (final DropReason reason : DropReason.values())
        {
            final long n = c.get(reason);
            if (n != 0)
            {
                sb.append("drop_").append(reason.label()).append('=').append(n).append(' ');
            }
        }
        return sb.toString();
    }
}
