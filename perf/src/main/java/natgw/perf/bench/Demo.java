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
        final List<String> stormImpls = new ArrayList<>(List.of("kernel-masq", "kernel-masq-fully-random",
            "natgw-reserve"));
        if (natgwKernel)
        {
            stormImpls.add("natgw-kernel");
        }
        final BenchOptions storm = options(install, stormImpls, 2);
        storm.rounds = 50;

        final BenchOptions timeWait = options(install, List.of("kernel-masq", "natgw-reserve"), 1);
        timeWait.durationS = 3;

        final BenchOptions throughput = options(install, List.of("kernel-masq", "natgw-reserve"), 1);
        throughput.durationS = 3;
        // one TCP test and the small-UDP flood keep the demo near a minute; bench throughput runs the rest
        throughput.flows = List.of(1);
        throughput.usoSegment = 0;
        throughput.udpTrials = 0;
        throughput.nulltun = nulltun;
        return List.of(new Bench.Plan("connect-storm", storm), new Bench.Plan("time-wait", timeWait),
            new Bench.Plan("throughput", throughput));
    }

    /** A plan's options on the demo's lab of 40 client addresses. */
    private static BenchOptions options(final boolean install, final List<String> impls, final int blocks)
    {
        final BenchOptions options = new BenchOptions();
        options.prefix = PREFIX;
        options.install = install;
        options.clients = 40;
        options.blocks = blocks;
        options.impls = impls;
        options.nulltun = null;
        return options;
    }

    public static Bench.Outcome run(final Path out, final boolean natgwKernel, final boolean install,
        final Path nulltun, final Progress progress, final PrintStream terminal) throws Exception
    {
        return Bench.run(plans(natgwKernel, install, nulltun), "natgw demo: kernel masquerade vs natgw",
            "natgw demo", out, true, progress, terminal);
    }
}
