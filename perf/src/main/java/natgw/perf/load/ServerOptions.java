package natgw.perf.load;

import picocli.CommandLine;
import picocli.CommandLine.Option;

/** The options of the servers the load generators talk to, a picocli mixin; started by the bench harness. */
final class ServerOptions
{
    @Option(names = "--bind", required = true, description = "The address to listen on.")
    String bind;

    @Option(names = "--tcp-port", defaultValue = "7000", description = "TCP port.")
    int tcpPort;

    @Option(names = "--udp-port", defaultValue = "0", description = "UDP port; 0 for none.")
    int udpPort;

    @Option(names = "--close-first-port", defaultValue = "0",
        description = "First TCP port whose connections the server answers with their port and closes first; 0 for none.")
    int closeFirstPort;

    @Option(names = "--close-first-ports", defaultValue = "1", description = "Close-first ports from --close-first-port.")
    int closeFirstPorts;

    /** {@code options} filled from {@code argv}; a bad argument throws picocli's ParameterException, naming it. */
    static <T> T parse(final T options, final String[] argv)
    {
        return CommandLine.populateCommand(options, argv);
    }
}
