package natgw.perf.cli;

import java.util.List;
import java.util.concurrent.Callable;

import natgw.gateway.cli.ExtensionCommand;
import natgw.perf.lab.LabStatus;
import natgw.perf.sys.Failures;
import natgw.tun.lab.Lab;
import natgw.tun.lab.Role;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code natgw lab up|down|status|exec}: the network-namespace lab shared by tests, bench and demo. */
@Command(
    name = "lab",
    mixinStandardHelpOptions = true,
    description = {
        "Build, inspect and remove the network-namespace lab that the tests, bench and demo use.",
        "Three namespaces, every name prefixed with PREFIX (default ngw):",
        "  PREFIX-client  c0 10.77.1.2/24 and .3 to .(K+1); default via 10.77.1.1",
        "  PREFIX-gw      gi 10.77.1.1/24 inside, go 10.77.2.1/24 outside; ip_forward=1",
        "  PREFIX-server  s0 10.77.2.2/24; no route back: without NAT no reply returns",
    },
    footerHeading = "%nExample, natgw in the lab (pool 10.77.2.100 on the outside subnet):%n",
    footer = {
        "  natgw lab up",
        "  ip netns exec ngw-gw ./natgw run --tun ngw0 --inside 10.77.1.0/24 \\",
        "      --snat 10.77.2.100 --steer gi",
        "  natgw lab exec client -- curl http://10.77.2.2:8080/",
        "  natgw lab down",
    },
    subcommands = {LabCommand.Up.class, LabCommand.Down.class, LabCommand.Status.class, LabCommand.ExecIn.class})
public final class LabCommand implements Runnable, ExtensionCommand
{
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run()
    {
        spec.commandLine().usage(System.out);
    }

    static final class PrefixOption
    {
        @Option(names = "--prefix", paramLabel = "P", defaultValue = Lab.DEFAULT_PREFIX,
            description = "Prefix of every namespace name (default: ${DEFAULT-VALUE}); labs with different " +
                "prefixes run side by side.")
        String prefix;
    }

    @Command(name = "up", mixinStandardHelpOptions = true,
        description = {"Builds the lab. Refuses when a lab with this prefix exists, unless --rebuild is given, " +
            "which removes it (and stops its processes) first."})
    static final class Up implements Callable<Integer>
    {
        @picocli.CommandLine.Mixin
        PrefixOption prefix = new PrefixOption();

        @Option(names = "--clients", paramLabel = "K", defaultValue = "" + Lab.DEFAULT_CLIENTS,
            description = "Client addresses 10.77.1.2 .. 10.77.1.(K+1) (default: ${DEFAULT-VALUE}).")
        int clients;

        @Option(names = "--rebuild", description = "Remove an existing lab with this prefix first.")
        boolean rebuild;

        @Override
        public Integer call()
        {
            return Failures.report(() ->
            {
                final Lab lab = Lab.up(prefix.prefix, clients, rebuild);
                // the namespaces outlive this command
                lab.detach();
                System.out.print(LabStatus.of(lab.prefix()).toText());
                return 0;
            });
        }
    }

    @Command(name = "down", mixinStandardHelpOptions = true,
        description = "Stops the processes left in the lab's namespaces and removes them. Idempotent.")
    static final class Down implements Callable<Integer>
    {
        @picocli.CommandLine.Mixin
        PrefixOption prefix = new PrefixOption();

        @Override
        public Integer call()
        {
            return Failures.report(() ->
            {
                final List<String> removed = Lab.down(prefix.prefix);
                System.out.println(removed.isEmpty() ? "lab " + prefix.prefix + ": nothing to remove" :
                    "lab " + prefix.prefix + ": removed " + String.join(", ", removed));
                return 0;
            });
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
        description = "Namespaces, interfaces, addresses, routes and processes of the lab. Exit code 0 when " +
            "the lab is up, 3 when it is down or partial.")
    static final class Status implements Callable<Integer>
    {
        @picocli.CommandLine.Mixin
        PrefixOption prefix = new PrefixOption();

        @Option(names = "--json", description = "Print JSON for scripts.")
        boolean json;

        @Override
        public Integer call()
        {
            return Failures.report(() ->
            {
                final LabStatus status = LabStatus.of(prefix.prefix);
                System.out.print(json ? status.toJson() + "\n" : status.toText());
                return status.up() ? 0 : 3;
            });
        }
    }

    @Command(name = "exec", mixinStandardHelpOptions = true,
        description = "Runs CMD in one namespace of the lab with stdio inherited; its exit code is passed through.",
        footerHeading = "%nExample:%n",
        footer = "  natgw lab exec client -- curl http://10.77.2.2:8080/")
    static final class ExecIn implements Callable<Integer>
    {
        @picocli.CommandLine.Mixin
        PrefixOption prefix = new PrefixOption();

        @Parameters(index = "0", paramLabel = "client|gw|server", description = "The namespace.")
        String role;

        @Parameters(index = "1..*", paramLabel = "CMD", arity = "1..*", description = "The command and arguments.")
        List<String> command;

        @Override
        public Integer call() throws InterruptedException
        {
            final Role which = Role.parse(role);
            final String netns = Lab.nsName(prefix.prefix, which);
            if (!Lab.namespaces().contains(netns))
            {
                System.err.println("natgw: namespace " + netns + " does not exist: run 'natgw lab up --prefix " +
                    prefix.prefix + "' first");
                return 1;
            }
            try (Lab lab = Lab.attach(prefix.prefix))
            {
                return lab.execInherited(which, command);
            }
        }
    }
}
