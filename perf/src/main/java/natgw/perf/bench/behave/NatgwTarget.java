package natgw.perf.bench.behave;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import natgw.perf.bench.NatgwGateway;
import natgw.perf.sys.NatgwCommand;
import natgw.tun.lab.Lab;
import natgw.tun.lab.LabProcess;
import natgw.tun.lab.Role;

/** natgw in the gateway namespace with the lab's command line, the setup's flags and a fresh flow state. */
final class NatgwTarget implements Target
{
    private static final long START_TIMEOUT_MS = 60_000;

    private final List<String> natgw = NatgwCommand.natgw();

    @Override
    public String name()
    {
        return "natgw";
    }

    @Override
    public String describe(final Setup setup)
    {
        return "`natgw " + String.join(" ", runArguments(setup)) + "`";
    }

    @Override
    public String startKey(final Setup setup)
    {
        return setup.name();
    }

    @Override
    public String externalAddress()
    {
        return Lab.POOL_ADDR;
    }

    static List<String> runArguments(final Setup setup)
    {
        final String pool = setup.twoPoolAddresses() ? Lab.POOL_ADDR + "," + SECOND_POOL_ADDR : Lab.POOL_ADDR;
        final List<String> args = new ArrayList<>(List.of("run", "--fresh", "--tun", Lab.TUN_NAME, "--inside",
            Lab.INSIDE_CIDR, "--snat", pool, "--steer", Lab.GW_INSIDE_IF));
        args.addAll(setup.natgwFlags());
        return args;
    }

    @Override
    public Session start(final Lab lab, final Setup setup, final Path logDir) throws InterruptedException
    {
        final List<String> command = new ArrayList<>(natgw);
        command.addAll(runArguments(setup));
        final LabProcess process = lab.start(Role.GW, command,
            logDir.resolve("natgw-" + setup.name().toLowerCase(java.util.Locale.ROOT) + ".log"), null);
        if (!process.awaitLine(line -> line.contains(NatgwGateway.READY), START_TIMEOUT_MS))
        {
            final boolean alive = process.isAlive();
            process.stop(2_000);
            throw new Refused("natgw " + (setup.natgwFlags().isEmpty() ? "" : "refused " +
                String.join(" ", setup.natgwFlags()) + ": ") + (alive ? "not running after " +
                START_TIMEOUT_MS / 1000 + " s: " : "") + process.tail(2).replace('\n', ' ').strip());
        }
        return new Session()
        {
            @Override
            public List<ConntrackEntry> connections()
            {
                final List<String> list = new ArrayList<>(natgw);
                list.addAll(List.of("conntrack", "-L"));
                return ConntrackEntry.parse(lab.exec(Role.GW, list).stdout());
            }

            @Override
            public void close()
            {
                process.stop(10_000);
            }
        };
    }
}
