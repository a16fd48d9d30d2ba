package natgw.gateway.cli;

import java.util.concurrent.Callable;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import natgw.gateway.control.ControlClient;

@Command(
    name = "conntrack",
    description = "Inspect the connection table of the gateway running in this network namespace, as " +
        "conntrack-tools does for the kernel's.",
    mixinStandardHelpOptions = true)
public final class ConntrackCommand implements Callable<Integer>
{
    @ArgGroup(exclusive = true, multiplicity = "1")
    Action action;

    static final class Action
    {
        @Option(names = { "-L", "--dump" }, description = "list connections") boolean list;
        @Option(names = { "-S", "--stats" }, description = "per-worker counters") boolean stats;
        @Option(names = { "-E", "--event" }, description = "show new/update/destroy events until interrupted") boolean events;
        @Option(names = { "-F", "--flush" }, description = "end every connection") boolean flush;
    }

    @Option(names = { "-p", "--proto" }, paramLabel = "PROTO", description = "-L filter: tcp, udp or icmp")
    String protocol;

    @Option(names = { "-s", "--src", "--orig-src" }, paramLabel = "ADDR", description = "-L filter: original source address")
    String src;

    @Option(names = { "-d", "--dst", "--orig-dst" }, paramLabel = "ADDR", description = "-L filter: original destination address")
    String dst;

    @Option(names = "--tun", paramLabel = "NAME", description = "the gateway to ask, when several run in this namespace")
    String tun;

    public Integer call() throws Exception
    {
        final String gateway;
        try
        {
            gateway = ControlClient.resolve(tun);
        }
        catch (final IllegalStateException ex)
        {
            System.err.println("natgw: " + ex.getMessage());
            return 1;
        }
        final StringBuilder request = new StringBuilder("conntrack ");
        if (action.list)
        {
            request.append("-L");
            if (protocol != null)
            {
                request.append(" -p ").append(protocol);
            }
            if (src != null)
            {
                request.append(" -s ").append(src);
            }
            if (dst != null)
            {
                request.append(" -d ").append(dst);
            }
        }
        else if (action.stats)
        {
            request.append("-S");
        }
        else if (action.events)
        {
            request.append("-E");
        }
        else
        {
            request.append("-F");
        }
        return ControlClient.call(gateway, request.toString(), System.out);
    }
}
