package natgw.perf.load;

import java.nio.file.Files;
import java.nio.file.Path;

import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;

class LoadResultTest
{
    @Test
    void shouldRoundTripHistogramsCountsAndValuesThroughJson(@TempDir final Path dir) throws Exception
    {
        final Histogram h = LoadResult.newHistogram();
        h.recordValue(35_000);
        h.recordValue(1_020_000_000L);
        final LoadResult out = new LoadResult().histogram("connect", h).count("stalls", 1).value("duration_s", 2.5);
        final Path file = dir.resolve("r.json");
        out.write(file);
        final LoadResult in = LoadResult.read(file);
        assertEquals(h, in.histograms().get("connect"));
        assertEquals(1, in.count("stalls"));
        assertEquals(2.5, in.values().get("duration_s"));
        assertEquals(1, Files.list(dir).count(), "written through a temporary file, then moved");
    }
}
