package natgw.gateway.cli;

import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import natgw.gateway.control.ControlClient;

@Command(
    name = "services",
    description = {
        "List the DNAT services of the gateway running in this network namespace, as ipvsadm -Ln does.",
        "Each backend comes with its evidence: new connections, SYNs answered by RST, SYNs never answered, " +
            "ICMP errors; a backend that resets a noticeably larger share of its SYNs than its siblings is flagged."
    },
    mixinStandardHelpOptions = true)
public final class ServicesCommand implements Callable<Integer>
{
    @Option(names = "--tun", paramLabel = "NAME", description = "the gateway to ask, when several run in this namespace")
    String tun;

    public Integer call() throws Exception
    {
        return ControlClient.callHere(tun, "services");
    }
}
