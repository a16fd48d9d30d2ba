package natgw.perf.report;

import java.util.List;
import java.util.Locale;

/** Horizontal bars, one per implementation, as an inline SVG: for throughput figures. */
public final class BarChart
{
    static final int WIDTH = 820;
    static final int LEFT = 200;
    static final int RIGHT = 110;
    static final int BAR = 20;
    static final int GAP = 8;

    /** One bar; NaN values are drawn as "failed". */
    public record Bar(String name, String color, double value)
    {
    }

    private BarChart()
    {
    }

    public static String svg(final String title, final String unit, final List<Bar> bars)
    {
        double max = 0;
        for (final Bar bar : bars)
        {
            if (!Double.isNaN(bar.value()))
            {
                max = Math.max(max, bar.value());
            }
        }
        if (max <= 0)
        {
            max = 1;
        }
        final int height = 40 + bars.size() * (BAR + GAP) + 10;
        final double plotW = WIDTH - LEFT - RIGHT;
        final StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"bars\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" " +
            "font-family=\"sans-serif\" font-size=\"12\">%n", WIDTH, height, WIDTH, height));
        sb.append("<title>").append(Format.escapeHtml(title)).append("</title>\n");
        sb.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", WIDTH, height));
        sb.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">%s</text>%n",
            Format.escapeHtml(title)));
        for (int i = 0; i < bars.size(); i++)
        {
            final Bar bar = bars.get(i);
            final double y = 36 + i * (BAR + GAP);
            sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n",
                LEFT - 8, y + BAR - 6, Format.escapeHtml(bar.name())));
            if (Double.isNaN(bar.value()))
            {
                sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" fill=\"#a00\">failed</text>%n",
                    LEFT + 4, y + BAR - 6));
                continue;
            }
            final double w = Math.max(1, plotW * bar.value() / max);
            sb.append(String.format(Locale.ROOT,
                "<rect class=\"bar\" data-impl=\"%s\" x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>%n",
                Format.escapeHtml(bar.name()), LEFT, y, w, BAR, bar.color()));
            sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\">%s %s</text>%n", LEFT + w + 6,
                y + BAR - 6, Format.value(bar.value()), Format.escapeHtml(unit)));
        }
        sb.append("</svg>\n");
        return sb.toString();
    }
}
