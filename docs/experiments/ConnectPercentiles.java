// The connect histogram of ShortConnections result files (--out JSON): count, p50, p90, p99 in microseconds.
// java -cp perf/target/natgw-perf.jar docs/experiments/ConnectPercentiles.java FILE.json ... (session 22)
import java.nio.file.*;
import java.util.regex.*;
import org.HdrHistogram.*;
public class ConnectPercentiles {
    public static void main(String[] a) throws Exception {
        for (String f : a) {
            String s = Files.readString(Path.of(f));
            Matcher m = Pattern.compile("\"connect\"\\s*:\\s*\"([^\"]+)\"").matcher(s);
            m.find();
            Histogram h = Histogram.decodeFromCompressedByteBuffer(java.nio.ByteBuffer.wrap(java.util.Base64.getDecoder().decode(m.group(1).substring(0))), 0);
            System.out.printf("%s n=%d p50=%.1f p90=%.1f p99=%.1f us%n", f, h.getTotalCount(), h.getValueAtPercentile(50)/1e3, h.getValueAtPercentile(90)/1e3, h.getValueAtPercentile(99)/1e3);
        }
    }
}
