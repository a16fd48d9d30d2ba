package natgw.perf.report;

import java.util.List;

import natgw.perf.load.LoadResult;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PercentilePlotTest
{
    static Histogram histogram(final int count, final long stallNs)
    {
        final Histogram h = LoadResult.newHistogram();
        for (int i = 1; i <= count; i++)
        {
            h.recordValue(20_000 + i * 10L);
        }
        if (stallNs > 0)
        {
            h.recordValue(stallNs);
        }
        return h;
    }

    @Test
    void shouldSpaceNinesEvenlyOnTheXAxis()
    {
        final List<PercentilePlot.Point> points = PercentilePlot.points(histogram(9999, 1_030_000_000L), 4);
        for (int i = 1; i < points.size(); i++)
        {
            assertTrue(points.get(i).x() >= points.get(i - 1).x(), "x grows with the percentile");
            assertTrue(points.get(i).y() >= points.get(i - 1).y(), "latency grows with the percentile");
        }
        assertEquals(0.0, points.get(0).x(), 1e-9);
        assertEquals(4.0, points.get(points.size() - 1).x(), 1e-9, "100% lands on the right edge");
        assertEquals(Math.log10(1.03e6), points.get(points.size() - 1).y(), 0.01, "the stall is the last point");
    }

    @Test
    void shouldGiveEnoughDecadesForTheLargestCount()
    {
        assertEquals(2, PercentilePlot.xDecades(List.of(new PercentilePlot.Series("a", "#000", histogram(50, 0)))));
        assertEquals(4, PercentilePlot.xDecades(List.of(new PercentilePlot.Series("a", "#000", histogram(50, 0)),
            new PercentilePlot.Series("b", "#111", histogram(4000, 0)))));
    }

    @Test
    void shouldLabelAxesAndMarkTheOneSecondStall()
    {
        final String svg = PercentilePlot.svg("t", List.of(
            new PercentilePlot.Series("kernel-masq", "#d62728", histogram(4000, 1_030_000_000L)),
            new PercentilePlot.Series("natgw-reserve", "#1f77b4", histogram(4000, 0))));
        assertTrue(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assertTrue(svg.contains(">99.9%<"), svg);
        assertTrue(svg.contains(">99.99%<"), svg);
        assertTrue(svg.contains(">10 µs<") && svg.contains(">1 s<"), svg);
        assertTrue(svg.contains("SYN retransmitted"), svg);
        assertEquals(2, ReportWriterTest.count(svg, "<polyline"));
        assertTrue(svg.contains("kernel-masq (n=4001)"));
    }

    @Test
    void shouldNameDecades()
    {
        assertEquals("1 µs", PercentilePlot.decadeLabel(0));
        assertEquals("100 µs", PercentilePlot.decadeLabel(2));
        assertEquals("1 ms", PercentilePlot.decadeLabel(3));
        assertEquals("10 s", PercentilePlot.decadeLabel(7));
    }
}
