package natgw.gateway.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import natgw.core.memory.StateFile;
import natgw.gateway.GatewayHost;
import natgw.tun.Capabilities;
import natgw.tun.HostNetwork;
import natgw.tun.StateFileLocation;

@Command(
    name = "cleanup",
    description = "Undo the routes, rules, neighbour entries and sysctls a killed gateway left in this network namespace, " +
        "and remove its state file (the connections a new natgw run would carry on).",
    mixinStandardHelpOptions = true)
public final class CleanupCommand implements Callable<Integer>
{
    @Parameters(paramLabel = "TUN", arity = "0..1", defaultValue = "natgw0",
        description = "the --tun of the gateway that was killed (default: ${DEFAULT-VALUE})")
    String tun;

    public Integer call()
    {
        if (!Capabilities.has(Capabilities.CAP_NET_ADMIN))
        {
            throw new IllegalStateException("natgw cleanup needs root or CAP_NET_ADMIN; run it as root (sudo)");
        }
        final List<String> undone = new ArrayList<>(HostNetwork.recoverStale(tun));
        undone.addAll(HostNetwork.recoverStale(GatewayHost.guardOwner(tun)));
        final Path state = StateFileLocation.forTun(tun);
        if (StateFile.remove(state))
        {
            undone.add("removed the state file " + state);
        }
        System.out.println(undone.isEmpty() ? "natgw: nothing to clean up for " + tun : "natgw: undone: " + String.join("; ", undone));
        return 0;
    }
}
