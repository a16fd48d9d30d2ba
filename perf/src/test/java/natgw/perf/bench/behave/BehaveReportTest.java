package natgw.perf.bench.behave;

import java.util.List;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BehaveReportTest
{
    private static final Row FRAGMENTS = Rows.all().stream().filter(r -> r.key().equals("fragments")).findFirst()
        .orElseThrow();
    private static final Row SYN = Rows.all().stream().filter(r -> r.key().equals("syn-silence")).findFirst()
        .orElseThrow();
    private static final List<BehaveSuite.Result> RESULTS = List.of(
        new BehaveSuite.Result(FRAGMENTS, Observation.of("3000 bytes out, 3021 back", true),
            Observation.failed("no answer to 3000 bytes"), false),
        new BehaveSuite.Result(SYN, Observation.of("RST after 0 ms", false),
            Observation.of("no answer for 6 s", true), true));

    @Test
    void shouldAlignTheTerminalTableAndCountThePasses()
    {
        final List<String> lines = BehaveReport.text(RESULTS).lines().toList();
        assertEquals(4, lines.size());
        final int kernelColumn = lines.get(0).indexOf("kernel");
        assertEquals(kernelColumn, lines.get(1).indexOf("3000 bytes out"));
        assertEquals(kernelColumn, lines.get(2).indexOf("RST after"));
        assertTrue(lines.get(1).endsWith("FAIL") && lines.get(2).endsWith("PASS"));
        assertEquals("natgw: 1 of 2 rows PASS", lines.get(3));
    }

    @Test
    void shouldPutVerdictAndFeaturesIntoTheJson()
    {
        final ObjectNode json = BehaveReport.json(RESULTS);
        assertEquals("fragments", json.path("rows").path(0).path("key").asText());
        assertEquals("FAIL", json.path("rows").path(0).path("natgw_verdict").asText());
        assertEquals(Rows.FRAGMENTS, json.path("rows").path(0).path("features").path(0).asText());
        assertTrue(json.path("rows").path(0).path("kernel_meets").asBoolean());
        assertEquals("PASS", json.path("rows").path(1).path("natgw_verdict").asText());
    }

    @Test
    void shouldWriteOneMarkdownRowPerResultWithTheSetups()
    {
        final String md = BehaveReport.markdown(RESULTS, List.of(new KernelTarget(), new NatgwTarget()));
        assertTrue(md.contains("| fragments | a 3000-byte UDP datagram"), md);
        assertTrue(md.contains("| **FAIL** |") && md.contains("| **PASS** |"), md);
        assertTrue(md.contains("- paired: kernel nft `snat to 10.77.2.100-10.77.2.101 persistent`"), md);
    }
}
