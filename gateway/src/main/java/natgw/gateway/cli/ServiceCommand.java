package natgw.gateway.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import natgw.gateway.control.ControlClient;

@Command(
    name = "service",
    description = "Change the DNAT services of the gateway running in this network namespace, without a restart.",
    footerHeading = "%nARGS of each action:%n",
    footer = {
        "  add PROTO:VIP:PORT[/SCHED[/AFFINITY_S]][=BACKEND:PORT[@W],...]",
        "  set PROTO:VIP:PORT BACKEND:PORT weight W",
        "  del PROTO:VIP:PORT [BACKEND:PORT]",
        "PROTO is tcp or udp. SCHED is rr (default), wrr, lc, wlc, sh (source hash), mh (Maglev) or random. " +
            "AFFINITY_S > 0 keeps a client on its backend for that many seconds after its last new connection. " +
            "W is a backend's weight, 0..65535 (default 1).",
        "%nExamples:",
        "  natgw service add tcp:10.96.0.30:443/mh=10.0.2.2:8443,10.0.2.3:8443",
        "  natgw service add tcp:10.96.0.30:443=10.0.2.4:8443@2",
        "  natgw service set tcp:10.96.0.30:443 10.0.2.2:8443 weight 0",
        "  natgw service del tcp:10.96.0.30:443 10.0.2.2:8443",
        "  natgw service del tcp:10.96.0.30:443",
    },
    mixinStandardHelpOptions = true)
public final class ServiceCommand implements Callable<Integer>
{
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "add|set|del",
        description = "add a service, or backends to one; set a backend's weight (0 drains it: no new " +
            "connections, established ones continue); del a backend (its flows are reset on their next packet) " +
            "or a whole service")
    String action;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "ARGS",
        description = "the service and backends the action applies to: see below")
    List<String> args = new ArrayList<>();

    @Option(names = "--tun", paramLabel = "NAME", description = "the gateway to change, when several run in this namespace")
    String tun;

    public Integer call() throws Exception
    {
        if (!List.of("add", "set", "del").contains(action))
        {
            throw new ParameterException(spec.commandLine(), "add|set|del: '" + action + "' is not an action; " +
                "give add, set or del");
        }
        return ControlClient.callHere(tun, "service " + action + " " + String.join(" ", args));
    }
}
