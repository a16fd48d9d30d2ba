package natgw.perf.load;

import picocli.CommandLine.Option;

/** The options of the TCP load generators ({@link ConnectStorm}, {@link ShortConnections}), a picocli mixin. */
final class TcpClientOptions
{
    @Option(names = "--port", defaultValue = "7000", description = "The server's TCP port.")
    int port;

    @Option(names = "--threads", description = "Threads (default: the CPUs).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--timeout-ms", defaultValue = "8000", description = "A connection not done by then failed.")
    long timeoutMs;
}
