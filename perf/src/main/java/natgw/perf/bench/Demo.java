package natgw.perf.bench;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code natgw demo}: incident 1, a server that closes first behind a small pool, and a throughput check, the kernel's
 * masquerade next to natgw, in about a minute on a 2-core machine. Builds its own lab (prefix {@code ngwd}; a lab left by a killed demo is removed first),
 * and removes everything when done.
 */
public final class Demo
{
    public static final String PREFIX = "ngwd";

    private Demo()
    {
    }

    /** The demo's plans: a short connect-storm, a short time-wait and a short throughput check. */
    public static List<Bench.Plan> plans(final boolean natgwKernel, final boolean install, final Path nulltun)
    {
        final BenchOptions storm = new BenchOptions();
        storm.prefix = PREFIX;
        storm.install = install;
        storm.clients = 40;
        storm.rounds = 50;
        storm.blocks = 2;
        storm.nulltun = null;
        final List<String> stormImpls = new ArrayList<>(List.of("kernel-masq", "kernel-masq-fully-random",
            "natgw-reserve"));
        if (natgwKernel)
        {
            stormImpls.add("natgw-kernel");
        }
        storm.impls = stormImpls;

        final BenchOptions throughput = new BenchOptions();
        throughput.prefix = PREFIX;
        throughput.install = install;
        throughput.clients = 40;
        throughput.blocks = 1;
        throughput.durationS = 3;
        // one TCP test and the small-UDP flood keep the demo near a minute; bench throughput runs the rest
        throughput.flows = List.of(1);
        throughput.usoSegment = 0;
        throughput.udpTrials = 0;
        throughput.impls = List.of("kernel-masq", "natgw-reserve");
        throughput.nulltun = nulltun;
        final BenchOptions timeWait = new BenchOptions();
        timeWait.prefix = PREFIX;
        timeWait.install = install;
        timeWait.clients = 40;
        timeWait.blocks = 1;
        timeWait.durationS = 3;
        timeWait.impls = List.of("kernel-masq", "natgw-reserve");
        timeWait.nulltun = null;
        return List.of(new Bench.Plan("connect-storm", storm), new Bench.Plan("time-wait", timeWait),
            new Bench.Plan("throughput", throughput));
    }

    public static Bench.Outcome run(final Path out, final boolean natgwKernel, final boolean install,
        final Path nulltun, final Progress progress, final PrintStream terminal) throws Exception
    {
        return Bench.run(plans(natgwKernel, install, nulltun), "natgw demo: kernel masquerade vs natgw",
            "natgw demo", out, true, progress, terminal);
    }
}
