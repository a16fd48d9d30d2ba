package natgw.perf.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Conntrack statistics from the two places they come from, under {@code conntrack -S} names:
 * <ul>
 *   <li>{@code /proc/net/stat/nf_conntrack} (the kernel, per network namespace): a header line of column names
 *       and one row per possible CPU, every value 8 hex digits. The columns differ between kernels; on Linux 6.x:
 *       {@code entries clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop
 *       icmp_error expect_new expect_create expect_delete search_restart}. {@code entries} is the namespace's
 *       table size repeated on every row, the others are per-CPU event counts.</li>
 *   <li>{@code conntrack -S} and {@code natgw conntrack -S}: one line per CPU or worker,
 *       {@code cpu=N found=.. insert=.. insert_failed=.. drop=.. early_drop=.. clash_resolve=.. search_restart=..}.</li>
 * </ul>
 * Sums over CPUs, so both read as one set of counters per implementation.
 */
public final class ConntrackStats
{
    /** /proc column names whose {@code conntrack -S} name differs. */
    private static final Map<String, String> PROC_TO_CONNTRACK = Map.of(
        "clashres", "clash_resolve",
        "icmp_error", "error",
        "chainlength", "chaintoolong");

    /** Counters shown in reports, in order. */
    public static final List<String> REPORTED = List.of(
        "insert", "insert_failed", "drop", "clash_resolve", "early_drop", "search_restart", "found", "invalid");

    private ConntrackStats()
    {
    }

    /** Column names of a /proc/net/stat/nf_conntrack text, as the kernel prints them. */
    public static List<String> procColumns(final String text)
    {
        for (final String line : text.split("\n"))
        {
            if (!line.isBlank())
            {
                return List.of(line.strip().split("\\s+"));
            }
        }
        return List.of();
    }

    /** Each per-CPU row of /proc/net/stat/nf_conntrack as name -> value, under conntrack -S names. */
    public static List<Map<String, Long>> parseProcRows(final String text)
    {
        final List<String> columns = procColumns(text);
        final List<Map<String, Long>> rows = new ArrayList<>();
        boolean header = true;
        for (final String line : text.split("\n"))
        {
            if (line.isBlank())
            {
                continue;
            }
            if (header)
            {
                header = false;
                continue;
            }
            final String[] fields = line.strip().split("\\s+");
            if (fields.length != columns.size())
            {
                throw new IllegalArgumentException("row has " + fields.length + " fields, header " + columns.size() +
                    ": '" + line + "'");
            }
            final Map<String, Long> row = new LinkedHashMap<>();
            for (int i = 0; i < fields.length; i++)
            {
                row.put(PROC_TO_CONNTRACK.getOrDefault(columns.get(i), columns.get(i)),
                    Long.parseUnsignedLong(fields[i], 16));
            }
            rows.add(row);
        }
        return rows;
    }

    /** Sum over CPUs of /proc/net/stat/nf_conntrack; {@code entries} is taken once, not summed. */
    public static Map<String, Long> parseProc(final String text)
    {
        final Map<String, Long> sum = new LinkedHashMap<>();
        for (final Map<String, Long> row : parseProcRows(text))
        {
            for (final Map.Entry<String, Long> e : row.entrySet())
            {
                if (e.getKey().equals("entries"))
                {
                    sum.putIfAbsent("entries", e.getValue());
                }
                else
                {
                    sum.merge(e.getKey(), e.getValue(), Long::sum);
                }
            }
        }
        return sum;
    }

    /**
     * Sum over the {@code cpu=N key=value ...} lines of {@code conntrack -S} or {@code natgw conntrack -S}; other
     * lines (headers, blank) are ignored, as are non-numeric values.
     */
    public static Map<String, Long> parseStatLines(final String text)
    {
        final Map<String, Long> sum = new LinkedHashMap<>();
        for (final String line : text.split("\n"))
        {
            final String stripped = line.strip();
            if (!stripped.startsWith("cpu="))
            {
                continue;
            }
            for (final String field : stripped.split("\\s+"))
            {
                final int eq = field.indexOf('=');
                if (eq <= 0 || field.startsWith("cpu="))
                {
                    continue;
                }
                try
                {
                    sum.merge(field.substring(0, eq), Long.parseLong(field.substring(eq + 1)), Long::sum);
                }
                catch (final NumberFormatException ignored)
                {
                    // a label, not a counter
                }
            }
        }
        return sum;
    }

    /** {@code after - before} for every counter in {@code after}; {@code entries} is a level, kept as is. */
    public static Map<String, Long> diff(final Map<String, Long> after, final Map<String, Long> before)
    {
        final Map<String, Long> diff = new LinkedHashMap<>();
        for (final Map.Entry<String, Long> e : after.entrySet())
        {
            diff.put(e.getKey(), e.getKey().equals("entries") ? e.getValue() :
                e.getValue() - before.getOrDefault(e.getKey(), 0L));
        }
        return diff;
    }

    /** Adds {@code more} into {@code total} counter by counter. */
    public static void accumulate(final Map<String, Long> total, final Map<String, Long> more)
    {
        for (final Map.Entry<String, Long> e : more.entrySet())
        {
            if (!e.getKey().equals("entries"))
            {
                total.merge(e.getKey(), e.getValue(), Long::sum);
            }
        }
    }
}
