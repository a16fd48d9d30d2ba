package natgw.perf.report;

import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FormatTest
{
    @Test
    void shouldPrintCountsWithoutDecimalsAndRatesWithThreeFigures()
    {
        assertEquals("0", Format.value(0, true));
        assertEquals("6442", Format.value(6442, true));
        assertEquals("16.5", Format.value(16.5, true), "a median of two counts");
        assertEquals("0.00", Format.value(0, false));
        assertEquals("0.94", Format.value(0.937, false));
        assertEquals("10.7", Format.value(10.69, false));
        assertEquals("504", Format.value(503.7, false));
        assertEquals("NaN", Format.value(Double.NaN, true));
    }

    @Test
    void shouldCallAColumnWholeOnlyWhenEveryValueIs()
    {
        assertTrue(Format.whole(List.of(0.0, 163.0, 1434.0)));
        assertFalse(Format.whole(List.of(0.0, 0.35)));
        assertFalse(Format.whole(List.of()), "no values, nothing to say");
        assertFalse(Format.whole(List.of(Double.NaN)));
    }

    @Test
    void shouldRenderBackticksAsCodeAndEscapeTheRest()
    {
        assertEquals("kernel nftables <code>masquerade</code> (conntrack)",
            Format.htmlText("kernel nftables `masquerade` (conntrack)"));
        assertEquals("<code>a &lt;b&gt;</code> &amp; <code>c</code>", Format.htmlText("`a <b>` & `c`"));
        assertEquals("one ` alone", Format.htmlText("one ` alone"));
        assertEquals("<code>$1 \\n</code>", Format.htmlText("`$1 \\n`"), "no regex replacement syntax");
    }

    @Test
    void shouldBreakHeadersAfterUnderscoresButNotInsideNames()
    {
        assertEquals("insert_<wbr>failed", Format.htmlHeader("insert_failed"));
        assertEquals("p50 x <span class=\"nw\">kernel-masq</span>", Format.htmlHeader("p50 x kernel-masq"));
        assertEquals("x <span class=\"nw\">same-mode</span> TUN", Format.htmlHeader("x same-mode TUN"));
    }
}
