package natgw.perf.report;

import java.util.Locale;

/** Number formatting shared by the Markdown, HTML and terminal reports. */
public final class Format
{
    private Format()
    {
    }

    /** A latency in microseconds with a readable unit: {@code 87 µs}, {@code 1.25 ms}, {@code 1.02 s}. */
    public static String latencyUs(final double us)
    {
        if (Double.isNaN(us))
        {
            return "-";
        }
        if (us < 10)
        {
            return String.format(Locale.ROOT, "%.1f µs", us);
        }
        if (us < 1_000)
        {
            return String.format(Locale.ROOT, "%.0f µs", us);
        }
        if (us < 1_000_000)
        {
            return String.format(Locale.ROOT, us < 10_000 ? "%.2f ms" : "%.1f ms", us / 1e3);
        }
        return String.format(Locale.ROOT, "%.2f s", us / 1e6);
    }

    /** A counter, or {@code n/a} when the implementation does not report it. */
    public static String counter(final Long value)
    {
        return value == null ? "n/a" : Long.toString(value);
    }

    public static String percentLabel(final double percentile)
    {
        if (percentile == 0)
        {
            return "0%";
        }
        final String s = String.format(Locale.ROOT, "%.6f", percentile).replaceAll("0+$", "").replaceAll("\\.$", "");
        return s + "%";
    }

    public static String escapeHtml(final String text)
    {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    public static String escapeMarkdown(final String text)
    {
        return text.replace("|", "\\|");
    }
}
