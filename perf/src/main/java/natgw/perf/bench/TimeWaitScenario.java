package natgw.perf.bench;

import java.util.List;

import natgw.perf.load.LoadResult;
import natgw.perf.load.TimeWaitReuse;
import natgw.tun.lab.Lab;
import natgw.tun.lab.Role;

/**
 * A server that closes first, behind a small source NAT pool: client addresses connect on a schedule to the echo
 * server's close-first port, which answers and closes each connection itself, so the server holds every 4-tuple in
 * TIME_WAIT for 60 s. Each segment has a close-first port of its own ({@link BenchRunner#CLOSE_FIRST_PORTS} in turn,
 * more than 60 s apart for segments of a second or more), so no segment meets the TIME_WAIT an earlier one left.
 * With {@code --pool-ports} ports to one server port, the NAT must give new connections 4-tuples the server still
 * holds: Linux's conntrack takes a TIME_WAIT entry over for any new SYN, and the server drops one
 * whose timestamp is older than the last it saw on that 4-tuple (PAWS, RFC 7323; another client host's clock), so
 * the connect waits for its SYN's retransmission 1 s later: the "connect() takes exactly 1 s" of incident 1 with no
 * race at all. natgw's reserve strategy takes an ended connection's tuple over only when the server would take the SYN.
 */
public final class TimeWaitScenario implements Scenario
{
    /** First port of the NAT pool the scenario gives every implementation. */
    static final int POOL_BASE = 20000;
    /** Client addresses that connect at once: no more than the pool, so that no connect waits for a free port. */
    static final int MAX_CLIENTS = 8;

    private int segments;
    private boolean pawsCounted;

    @Override
    public String name()
    {
        return "time-wait";
    }

    @Override
    public String description()
    {
        return "Up to " + MAX_CLIENTS + " client addresses connect, --rate connections a second between them on a " +
            "schedule (a client still in a stalled connect skips the starts it missed), to " + Lab.SERVER_ADDR + ":" +
            BenchRunner.CLOSE_FIRST_PORT + ", send a byte and read until the server closes: the server closes first and " +
            "holds each 4-tuple in TIME_WAIT for 60 s (each segment on a port of its own, 7001 and up). Every NAT " +
            "implementation translates TCP and UDP to the source ports " + POOL_BASE + " and up, --pool-ports of them, " +
            "so new connections come back on 4-tuples the server still holds; the server drops a SYN whose TCP " +
            "timestamp is older than the last it saw there (PAWS), and the client sends it again 1 s later. Connect " +
            "latency per connection (HdrHistogram); a stall is a connect of 1 s or more (one that timed out counts, at " +
            "the timeout). PAWS refused: the server's TcpExtPAWSTimewait over the segment (Linux 6.16 and later).";
    }

    @Override
    public List<String> defaultImpls()
    {
        return List.of("kernel-masq", "natgw-reserve");
    }

    @Override
    public List<String> metrics()
    {
        return List.of("connect");
    }

    /** The server's PAWS refusals where its kernel counts them (Linux 6.16 and later), else none. */
    @Override
    public List<ScenarioResult.Column> extraColumns()
    {
        return pawsCounted ? List.of(new ScenarioResult.Column("PAWS refused", "paws_refused")) : List.of();
    }

    /** Refuses a pool smaller than the clients that connect at once, or one past port 65535, and a negative rate. */
    public static void validate(final BenchOptions options)
    {
        poolRange(options.poolPorts);
        if (options.rate < 0)
        {
            throw new IllegalArgumentException("--rate must be 0 (back to back) or more, not " + options.rate);
        }
    }

    /** The pool every NAT implementation translates to: {@code 20000-20255} for 256 ports. */
    static String poolRange(final int ports)
    {
        if (ports < MAX_CLIENTS || POOL_BASE + ports - 1 > 65535)
        {
            throw new IllegalArgumentException("--pool-ports must be " + MAX_CLIENTS + " (the clients connecting at once) to " +
                (65536 - POOL_BASE) + ", not " + ports);
        }
        return POOL_BASE + "-" + (POOL_BASE + ports - 1);
    }

    @Override
    public void prepare(final BenchContext context)
    {
        validate(context.options());
        context.natPorts(poolRange(context.options().poolPorts));
        segments = 0;
        pawsCounted = pawsTimewait(context.lab()) >= 0;
    }

    @Override
    public LoadResult runSegment(final BenchContext context, final String impl, final String segmentName,
        final int block, final int blocks) throws Exception
    {
        final BenchOptions options = context.options();
        final List<String> clients = context.lab().clientAddresses();
        final List<String> sources = clients.subList(0, Math.min(MAX_CLIENTS, clients.size()));
        final int port = BenchRunner.CLOSE_FIRST_PORT + segments++ % BenchRunner.CLOSE_FIRST_PORTS;
        final List<String> args = List.of(
            "--server", Lab.SERVER_ADDR,
            "--port", String.valueOf(port),
            "--sources", String.join(",", sources),
            "--duration-s", String.valueOf(options.durationS),
            "--rate-per-source", String.valueOf(options.rate / sources.size()),
            "--expect-ports", context.natPorts());
        final long pawsBefore = pawsTimewait(context.lab());
        final LoadResult result = LoadRunner.run(context, Role.CLIENT, TimeWaitReuse.class, args, segmentName,
            (long)(options.durationS * 1000) + 60_000,
            line -> context.progress().update(line.replace("completed=", "connected ").replace("stalls=", "stalls ")
                .replace("errors=", "errors ")));
        return pawsCounted ? result.count("paws_refused", pawsTimewait(context.lab()) - pawsBefore) : result;
    }

    /** The server namespace's TcpExtPAWSTimewait: SYNs its TIME_WAIT sockets refused by timestamp; -1 if not counted. */
    static long pawsTimewait(final Lab lab)
    {
        return lab.tcpExt(Role.SERVER, "PAWSTimewait");
    }

    @Override
    public String throughputText(final ImplResult result)
    {
        return result.count("completed") + " connections";
    }

    @Override
    public void finish(final BenchContext context)
    {
        context.natPorts(null);
    }
}
