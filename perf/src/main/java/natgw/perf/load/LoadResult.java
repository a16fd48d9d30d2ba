package natgw.perf.load;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.DataFormatException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.HdrHistogram.Histogram;

/**
 * What a load generator hands back to the harness: latency histograms (nanoseconds, compressed, base64) and
 * counts, written as one JSON file. The harness merges them across segments.
 */
public final class LoadResult
{
    /** Highest latency a histogram tracks: 120 s, well past the longest SYN retransmission we wait for. */
    public static final long HIGHEST_TRACKABLE_NS = 120_000_000_000L;
    public static final int SIGNIFICANT_DIGITS = 3;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, Histogram> histograms = new LinkedHashMap<>();
    private final Map<String, Long> counts = new LinkedHashMap<>();
    private final Map<String, Double> values = new LinkedHashMap<>();

    public static Histogram newHistogram()
    {
        return new Histogram(HIGHEST_TRACKABLE_NS, SIGNIFICANT_DIGITS);
    }

    public Map<String, Histogram> histograms()
    {
        return histograms;
    }

    public Map<String, Long> counts()
    {
        return counts;
    }

    public Map<String, Double> values()
    {
        return values;
    }

    public LoadResult histogram(final String name, final Histogram histogram)
    {
        histograms.put(name, histogram);
        return this;
    }

    public LoadResult count(final String name, final long value)
    {
        counts.put(name, value);
        return this;
    }

    public LoadResult value(final String name, final double value)
    {
        values.put(name, value);
        return this;
    }

    public long count(final String name)
    {
        return counts.getOrDefault(name, 0L);
    }

    public void write(final Path file) throws IOException
    {
        final ObjectNode root = JSON.createObjectNode();
        final ObjectNode h = root.putObject("histograms");
        for (final Map.Entry<String, Histogram> e : histograms.entrySet())
        {
            h.put(e.getKey(), encode(e.getValue()));
        }
        final ObjectNode c = root.putObject("counts");
        counts.forEach(c::put);
        final ObjectNode v = root.putObject("values");
        values.forEach(v::put);
        final Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        JSON.writeValue(tmp.toFile(), root);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    public static LoadResult read(final Path file) throws IOException
    {
        final JsonNode root = JSON.readTree(file.toFile());
        final LoadResult result = new LoadResult();
        root.path("histograms").fields().forEachRemaining(e -> result.histogram(e.getKey(), decode(e.getValue().asText())));
        root.path("counts").fields().forEachRemaining(e -> result.count(e.getKey(), e.getValue().asLong()));
        root.path("values").fields().forEachRemaining(e -> result.value(e.getKey(), e.getValue().asDouble()));
        return result;
    }

    public static String encode(final Histogram histogram)
    {
        final ByteBuffer buffer = ByteBuffer.allocate(histogram.getNeededByteBufferCapacity());
        final int length = histogram.encodeIntoCompressedByteBuffer(buffer);
        return Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(buffer.array(), length));
    }

    public static Histogram decode(final String base64)
    {
        try
        {
            return Histogram.decodeFromCompressedByteBuffer(ByteBuffer.wrap(Base64.getDecoder().decode(base64)),
                HIGHEST_TRACKABLE_NS);
        }
        catch (final DataFormatException e)
        {
            throw new IllegalArgumentException("corrupt histogram: " + e.getMessage(), e);
        }
    }
}
