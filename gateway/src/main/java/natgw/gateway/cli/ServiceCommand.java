package natgw.gateway.cli;

import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import natgw.gateway.control.ControlClient;

@Command(
    name = "service",
    description = {
        "Change the DNAT services of the gateway running in this network namespace, without restart:",
        "  service add PROTO:VIP:PORT[/SCHED[/AFFINITY_S]][=BACKEND:PORT[@W],...]   add a service or backends",
        "  service set PROTO:VIP:PORT BACKEND:PORT weight W                          W=0 drains: no new connections",
        "  service del PROTO:VIP:PORT [BACKEND:PORT]                                 remove a backend (its flows are",
        "                                                                            reset on their next packet) or a service"
    },
    mixinStandardHelpOptions = true)
public final class ServiceCommand implements Callable<Integer>
{
    @Parameters(index = "0", paramLabel = "add|set|del")
    String action;

    @Parameters(index = "1..*", paramLabel = "ARGS")
    java.util.List<String> args = new java.util.ArrayList<>();

    @Option(names = "--tun", paramLabel = "NAME", description = "the gateway to change, when several run in this namespace")
    String tun;

    public Integer call() throws Exception
    {
        return ControlClient.callHere(tun, "service " + action + " " + String.join(" ", args));
    }
}
