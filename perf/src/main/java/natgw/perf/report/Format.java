package natgw.perf.report;

import java.util.Collection;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Number formatting shared by the Markdown, HTML and terminal reports. */
public final class Format
{
    /** Markdown's inline code: a backtick, text without one, a backtick. */
    private static final Pattern CODE = Pattern.compile("`([^`]+)`");
    /** A word with a hyphen inside: {@code same-mode}, {@code kernel-masq}. */
    private static final Pattern HYPHENATED = Pattern.compile("(\\w+(?:-\\w+)+)");

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

    /** A measured value with three significant figures or more: {@code 0.94}, {@code 10.7}, {@code 504}. */
    public static String value(final double value)
    {
        return value >= 100 ? String.format(Locale.ROOT, "%.0f", value) :
            value >= 10 ? String.format(Locale.ROOT, "%.1f", value) : String.format(Locale.ROOT, "%.2f", value);
    }

    /**
     * As {@link #value(double)}, or for a value that counts something ({@code whole}: retransmissions) without
     * decimals: {@code 0}, {@code 16}; a median of two counts may end in .5 and keeps it.
     */
    public static String value(final double value, final boolean whole)
    {
        if (!whole || Double.isNaN(value))
        {
            return value(value);
        }
        return value == Math.rint(value) ? Long.toString((long)value) : String.format(Locale.ROOT, "%.1f", value);
    }

    /** True when every value is a whole number (and there is one): a count, printed without decimals. */
    public static boolean whole(final Collection<Double> values)
    {
        for (final double value : values)
        {
            if (Double.isNaN(value) || Double.isInfinite(value) || value != Math.rint(value))
            {
                return false;
            }
        }
        return !values.isEmpty();
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

    /** Text for HTML with Markdown's {@code `code`} rendered as {@code <code>code</code>}. */
    public static String htmlText(final String text)
    {
        final Matcher m = CODE.matcher(escapeHtml(text));
        final StringBuilder sb = new StringBuilder();
        while (m.find())
        {
            m.appendReplacement(sb, Matcher.quoteReplacement("<code>" + m.group(1) + "</code>"));
        }
        return m.appendTail(sb).toString();
    }

    /**
     * A column name for HTML that may break after an underscore ({@code insert_<wbr>failed}) when columns are tight,
     * but not at a hyphen inside a name ({@code kernel-masq}).
     */
    public static String htmlHeader(final String text)
    {
        return HYPHENATED.matcher(escapeHtml(text).replace("_", "_<wbr>")).replaceAll("<span class=\"nw\">$1</span>");
    }

    public static String escapeMarkdown(final String text)
    {
        return text.replace("|", "\\|");
    }
}
