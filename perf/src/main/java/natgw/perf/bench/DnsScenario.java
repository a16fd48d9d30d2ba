package natgw.perf.bench;

import java.util.List;

import natgw.perf.load.DnsPairs;
import natgw.perf.load.LoadResult;
import natgw.tun.lab.Lab;
import natgw.tun.lab.Role;

/**
 * Incident 4: DNS over DNAT. A DNS-like responder on every backend behind {@code udp:VIP:53}; each round, every
 * client address sends an A and an AAAA query from one UDP socket (one 5-tuple) at the same instant and waits for
 * both answers ({@link DnsPairs}). Two packets of one new flow: if two CPUs (or two natgw workers) create its entry
 * at once, the second insert clashes: with clash resolution (Linux 4.19+, natgw's default) it adopts the first
 * entry; without (natgw {@code --no-clash-resolution}, as Linux before 4.19) it is dropped and the resolver waits.
 * natgw's reserve strategy claims the tuple atomically, so there is no clash to resolve.
 */
public final class DnsScenario implements Scenario
{
    private ServiceBackends backends;

    @Override
    public String name()
    {
        return "dns-a-aaaa";
    }

    @Override
    public boolean dnat()
    {
        return true;
    }

    @Override
    public String description()
    {
        return "Incident 4: a DNS-like UDP responder on each backend behind the DNAT'ed VIP " + Lab.VIP_ADDR + ":" +
            ServiceBackends.UDP_PORT + " (round robin). Each round every client address opens a UDP socket and " +
            "sends an A and an AAAA query from it (one 5-tuple, as musl) at the same instant, then waits for both " +
            "answers. With 2 senders the two queries leave on two CPUs at once (the incident's condition); with 1, " +
            "back to back from one thread. lookup: first query sent to second answer; query: each query to its " +
            "answer. late: an answer after the resolver's timeout (it would have retried); lost: never answered; " +
            "split: the two answers came from different backends (the two packets got different translations). " +
            "strays: answers that echo another lookup's query (the load generator's fault, none expected). " +
            "Stalls: lookups not complete within 1 s. Counters: the kernel's insert_failed, drop, clash_resolve " +
            "(/proc/net/stat/nf_conntrack), natgw's from natgw conntrack -S.";
    }

    @Override
    public List<String> defaultImpls()
    {
        return List.of("kernel-dnat", "natgw-reserve", "natgw-kernel", Implementations.NATGW_KERNEL_NO_CLASH);
    }

    @Override
    public List<String> metrics()
    {
        return List.of("lookup", "query");
    }

    @Override
    public List<ScenarioResult.Column> extraColumns()
    {
        return List.of(new ScenarioResult.Column("lost", "lost"), new ScenarioResult.Column("late", "late"),
            new ScenarioResult.Column("split", "split"), new ScenarioResult.Column("strays", "strays"));
    }

    @Override
    public void prepare(final BenchContext context) throws InterruptedException
    {
        final BenchOptions options = context.options();
        if (options.dnsSenders != 1 && options.dnsSenders != 2)
        {
            throw new IllegalArgumentException("--dns-senders must be 1 or 2, not " + options.dnsSenders);
        }
        backends = ServiceBackends.start(context, options.backends);
        // the TCP service as well, as a DNS service has both (and the harness checks connectivity over TCP)
        context.services(List.of(
            new LabService("udp", Lab.VIP_ADDR, ServiceBackends.UDP_PORT, backends.endpoints(ServiceBackends.UDP_PORT)),
            new LabService("tcp", Lab.VIP_ADDR, ServiceBackends.TCP_PORT, backends.endpoints(ServiceBackends.TCP_PORT))));
    }

    @Override
    public LoadResult runSegment(final BenchContext context, final String impl, final String segmentName,
        final int block, final int blocks) throws Exception
    {
        final BenchOptions options = context.options();
        final int rounds = ConnectStormScenario.roundsInBlock(options.rounds, block, blocks);
        final List<String> args = List.of(
            "--server", Lab.VIP_ADDR,
            "--port", String.valueOf(ServiceBackends.UDP_PORT),
            "--sources", String.join(",", context.lab().clientAddresses()),
            "--rounds", String.valueOf(rounds),
            "--interval-ms", String.valueOf(options.intervalMs),
            "--senders", String.valueOf(options.dnsSenders),
            "--timeout-ms", String.valueOf(options.dnsTimeoutMs),
            "--grace-ms", "1000");
        final long budgetMs = (long)(rounds * options.intervalMs) + options.dnsTimeoutMs + 60_000;
        return LoadRunner.run(context, Role.CLIENT, DnsPairs.class, args, segmentName, budgetMs,
            line -> context.progress().update(line.replace("rounds=", "round ").replace("=", " ")));
    }

    @Override
    public String throughputText(final ImplResult result)
    {
        return result.count("lookups") + " lookups";
    }

    @Override
    public void finish(final BenchContext context)
    {
        if (backends != null)
        {
            backends.close();
            backends = null;
        }
        context.services(List.of());
    }
}
