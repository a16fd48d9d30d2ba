package natgw.perf.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;

/**
 * Latency by percentile as HdrHistogram's plotter draws it, as an inline SVG: the x axis is
 * {@code log10(1 / (1 - p))}, so 90%, 99%, 99.9%, ... are evenly spaced and the tail gets the room; the y axis is
 * logarithmic too, so microsecond medians and one-second stalls fit one picture. One line per implementation.
 */
public final class PercentilePlot
{
    static final int WIDTH = 820;
    static final int HEIGHT = 440;
    static final int LEFT = 78;
    static final int RIGHT = 36;
    static final int TOP = 36;
    static final int BOTTOM = 56;
    /** Percentile ticks per half distance, as in HdrHistogram's .hgrm output. */
    static final int TICKS_PER_HALF_DISTANCE = 5;
    /** A one-second connect is a retransmitted SYN: marked on the plot. */
    static final double STALL_US = 1_000_000;

    /** One line of the plot. */
    public record Series(String name, String color, Histogram histogram)
    {
    }

    /** A point of a series: x = log10(1/(1-p)), y = log10(latency in µs). */
    record Point(double x, double y)
    {
    }

    private PercentilePlot()
    {
    }

    /** Points of one histogram, x capped at {@code xMax} (the 100% point lands there). */
    static List<Point> points(final Histogram histogram, final double xMax)
    {
        final List<Point> points = new ArrayList<>();
        for (final HistogramIterationValue v : histogram.percentiles(TICKS_PER_HALF_DISTANCE))
        {
            final double p = v.getPercentileLevelIteratedTo() / 100.0;
            final double x = p >= 1.0 ? xMax : Math.min(xMax, -Math.log10(1.0 - p));
            final double us = Math.max(0.1, histogram.highestEquivalentValue(v.getValueIteratedTo()) / 1000.0);
            points.add(new Point(x, Math.log10(us)));
        }
        return points;
    }

    /** Decades of the x axis: enough for the largest count (10^k samples reach the 1 - 10^-k percentile). */
    static int xDecades(final List<Series> series)
    {
        long max = 1;
        for (final Series s : series)
        {
            max = Math.max(max, s.histogram().getTotalCount());
        }
        return Math.max(2, (int)Math.ceil(Math.log10(max)));
    }

    public static String svg(final String title, final List<Series> series)
    {
        final int xMax = xDecades(series);
        final List<List<Point>> lines = new ArrayList<>();
        double yLo = Double.MAX_VALUE;
        double yHi = -Double.MAX_VALUE;
        for (final Series s : series)
        {
            final List<Point> points = points(s.histogram(), xMax);
            lines.add(points);
            for (final Point p : points)
            {
                yLo = Math.min(yLo, p.y());
                yHi = Math.max(yHi, p.y());
            }
        }
        if (yLo > yHi)
        {
            yLo = 0;
            yHi = 3;
        }
        final int yMin = (int)Math.floor(yLo);
        final int yMax = Math.max(yMin + 1, (int)Math.ceil(yHi + 1e-9));
        final double plotW = WIDTH - LEFT - RIGHT;
        final double plotH = HEIGHT - TOP - BOTTOM;

        final StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" " +
            "font-family=\"sans-serif\" font-size=\"12\">%n", WIDTH, HEIGHT, WIDTH, HEIGHT));
        sb.append("<title>").append(Format.escapeHtml(title)).append("</title>\n");
        sb.append(String.format(Locale.ROOT, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>%n",
            WIDTH, HEIGHT));
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"22\" font-size=\"15\" font-weight=\"bold\">%s</text>%n",
            LEFT, Format.escapeHtml(title)));
        // grid and ticks
        for (int k = 0; k <= xMax; k++)
        {
            final double x = LEFT + plotW * k / xMax;
            sb.append(String.format(Locale.ROOT,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>%n", x, TOP, x, TOP + plotH));
            sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>%n",
                x, TOP + plotH + 18, Format.percentLabel(100.0 * (1 - Math.pow(10, -k)))));
        }
        for (int d = yMin; d <= yMax; d++)
        {
            final double y = TOP + plotH - plotH * (d - yMin) / (yMax - yMin);
            sb.append(String.format(Locale.ROOT,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>%n", LEFT, y, LEFT + plotW, y));
            sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n",
                LEFT - 6, y + 4, decadeLabel(d)));
        }
        sb.append(String.format(Locale.ROOT,
            "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#888\"/>%n",
            LEFT, TOP, plotW, plotH));
        sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">percentile</text>%n",
            LEFT + plotW / 2, HEIGHT - 12));
        sb.append(String.format(Locale.ROOT,
            "<text transform=\"translate(16,%.1f) rotate(-90)\" text-anchor=\"middle\">latency (log)</text>%n",
            TOP + plotH / 2));
        final double stallY = Math.log10(STALL_US);
        if (stallY > yMin && stallY < yMax)
        {
            final double y = TOP + plotH - plotH * (stallY - yMin) / (yMax - yMin);
            sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" " +
                "stroke=\"#999\" stroke-dasharray=\"6 4\"/>%n", LEFT, y, LEFT + plotW, y));
            sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#666\">" +
                "1 s: SYN retransmitted</text>%n", LEFT + plotW - 4, y - 4));
        }
        // lines
        for (int i = 0; i < series.size(); i++)
        {
            final StringBuilder path = new StringBuilder();
            for (final Point p : lines.get(i))
            {
                final double x = LEFT + plotW * p.x() / xMax;
                final double y = TOP + plotH - plotH * (p.y() - yMin) / (yMax - yMin);
                path.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
            }
            sb.append(String.format(Locale.ROOT, "<polyline class=\"series\" data-impl=\"%s\" fill=\"none\" " +
                "stroke=\"%s\" stroke-width=\"2\" points=\"%s\"/>%n", Format.escapeHtml(series.get(i).name()),
                series.get(i).color(), path.toString().strip()));
        }
        // legend
        for (int i = 0; i < series.size(); i++)
        {
            final double y = TOP + 16 + i * 18;
            sb.append(String.format(Locale.ROOT,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"/>%n",
                LEFT + 10, y - 4, LEFT + 34, y - 4, series.get(i).color()));
            sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\">%s (n=%d)</text>%n", LEFT + 40, y,
                Format.escapeHtml(series.get(i).name()), series.get(i).histogram().getTotalCount()));
        }
        sb.append("</svg>\n");
        return sb.toString();
    }

    static String decadeLabel(final int decade)
    {
        final String[] units = {"µs", "ms", "s"};
        if (decade < 0)
        {
            return String.format(Locale.ROOT, "%s µs", Double.toString(Math.pow(10, decade)));
        }
        final int unit = Math.min(2, decade / 3);
        final long value = (long)Math.pow(10, decade - unit * 3);
        return value + " " + units[unit];
    }
}
