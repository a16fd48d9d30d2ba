package natgw.perf.load;

import java.nio.file.Path;
import java.util.List;

import picocli.CommandLine.Option;

/**
 * The options every client load generator takes, a picocli mixin. The generators are started by the bench
 * harness as child JVMs in the lab's client namespace, with {@code --name value} pairs.
 */
final class ClientOptions
{
    @Option(names = "--server", required = true, description = "The server's address.")
    String server;

    @Option(names = "--sources", required = true, split = ",", description = "Source addresses, comma-separated.")
    List<String> sources;

    @Option(names = "--out", required = true, description = "Where the LoadResult JSON is written.")
    Path out;

    @Option(names = "--stall-ms", defaultValue = "1000", description = "A response slower than this is a stall.")
    long stallMs;
}
