package natgw.perf.report;

import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TableTest
{
    static Table table()
    {
        return new Table(new String[] {"implementation", "drop", "throughput", "x kernel-masq (higher is better)"},
            List.of(new String[] {"kernel-masq", "0", "10 Gbit/s", "1.00x"},
                new String[] {"natgw-reserve", "3", "TCP 1: 7.03 Gbit/s (0 retr), TCP 4: 8.52 Gbit/s (6442 retr)", "0.70x"}))
            .text(2).problem(1);
    }

    @Test
    void shouldAlignTextLeftAndNumbersRightInMarkdown()
    {
        final String md = table().markdown();
        assertTrue(md.startsWith("| implementation | drop | throughput | x kernel-masq (higher is better) |\n" +
            "| --- | ---: | --- | ---: |\n| kernel-masq | 0 | 10 Gbit/s | 1.00x |\n"), md);
    }

    @Test
    void shouldPutAHeadersParenthesisOnLinesOfItsOwnOnTheTerminal()
    {
        final List<String> lines = table().terminal().lines().toList();
        assertTrue(lines.get(0).endsWith("x kernel-masq"), lines.get(0));
        assertTrue(lines.get(1).endsWith("(higher is"), "wrapped to the column's width: " + lines);
        assertTrue(lines.get(2).endsWith("better)"), lines.get(2));
        assertTrue(lines.get(3).startsWith("kernel-masq    ") && lines.get(3).endsWith("1.00x"), lines.get(3));
        assertEquals(lines.get(0).indexOf("throughput"), lines.get(4).indexOf("TCP 1:"), "text aligned left");
    }

    @Test
    void shouldKeepOnlyTheMarkedColumns()
    {
        final Table kept = table().keep(new boolean[] {true, false, true, false});
        assertEquals(List.of("implementation", "throughput"), List.of(kept.header()));
        assertTrue(kept.markdown().contains("| --- | --- |"), "the text column is still text");
        assertTrue(table().keep(new boolean[] {true, true, false, false}).markdown().contains("| --- | ---: |"));
    }

    @Test
    void shouldWrapInAScrollingBoxWithTheImplementationsColourAndMarkProblems()
    {
        final StringBuilder sb = new StringBuilder();
        table().html(sb, "summary", " data-metric=\"connect\"");
        final String html = sb.toString();
        assertTrue(html.startsWith("<div class=\"wide\"><table class=\"summary\" data-metric=\"connect\">"), html);
        assertTrue(html.endsWith("</table></div>\n"), html);
        assertTrue(html.contains("<tr data-impl=\"natgw-reserve\"><td><span class=\"key\" style=\"background:" +
            Colors.of("natgw-reserve") + "\"></span>natgw-reserve</td><td class=\"bad\">3</td>"), html);
        assertTrue(html.contains("<td class=\"t long\">TCP 1: 7.03") &&
            html.contains("<td>0</td><td class=\"t long\">10 Gbit/s</td>"), "a column of long text wraps: " + html);
        final StringBuilder narrow = new StringBuilder();
        new Table(new String[] {"implementation", "throughput"}, List.<String[]>of(new String[] {"a", "2056 conn/s"}))
            .text(1).html(narrow, "summary", "");
        assertTrue(narrow.toString().contains("<td class=\"t\">2056 conn/s</td>"), "short text stays on one line");
        assertTrue(html.contains("<th>x <span class=\"nw\">kernel-masq</span><br><span class=\"sense\">" +
            "(higher is better)</span></th>"), html);
    }

    @Test
    void shouldKnowAColumnThatSaysNothing()
    {
        final Table table = new Table(new String[] {"implementation", "throughput"},
            List.of(new String[] {"a", "-"}, new String[] {"b", "-"}));
        assertTrue(table.empty(1));
        assertFalse(table().empty(2));
    }
}
