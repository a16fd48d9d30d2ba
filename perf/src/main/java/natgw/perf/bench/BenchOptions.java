package natgw.perf.bench;

import java.nio.file.Path;
import java.util.List;

/**
 * Options of one benchmark run; the defaults suit a full run on a 2-core machine. Plain mutable fields, filled by
 * the {@code natgw bench} command line or by tests.
 */
public final class BenchOptions
{
    /** Implementations to run, by name; empty means the scenario's default set. */
    public List<String> impls = List.of();
    /** Lab prefix; bench and demo use their own so they never collide with a lab someone built by hand. */
    public String prefix = "ngwb";
    /** Client addresses (connect-storm: the K sources). */
    public int clients = 40;
    /** Output directory; null means bench-out/SCENARIO-TIMESTAMP under the working directory. */
    public Path out;
    /** Path of nulltun (binary, or nulltun.c to compile); null leaves nulltun out. */
    public Path nulltun;
    /** natgw --queues (and nulltun -q); 0 means natgw's default. */
    public int queues;
    /** Implementations alternate in this many blocks: A B C, B C A, ... */
    public int blocks = 2;
    /** connect-storm: rounds per implementation, summed over blocks. */
    public int rounds = 100;
    /** connect-storm: time between round starts. */
    public double intervalMs = 20;
    /** Load-generator threads; 0 means the number of CPUs. */
    public int threads;
    /** throughput and short-connections: seconds per test and block. */
    public double durationS = 5;
    /** throughput: one iperf3 TCP test per entry, with that many parallel flows. */
    public List<Integer> flows = List.of(1, 4);
    /**
     * throughput: payload bytes per segment of the UDP GSO sender (UDP_SEGMENT); 0 leaves that test out. 1400 fits
     * a 1500-byte MTU with IPv4 and UDP headers, and 46 segments fit one 64 KiB datagram.
     */
    public int usoSegment = 1400;
    /**
     * throughput: paced small-UDP trials of {@link #udpTrialS} seconds that search the highest rate carried with at
     * most {@link #udpLossPercent} loss ({@link RateSearch}); 0 leaves the search out.
     */
    public int udpTrials = 8;
    /** throughput: the loss, in percent, a rate the search reports may have. */
    public double udpLossPercent = 0.5;
    /** throughput: seconds per paced trial of the search. */
    public int udpTrialS = 2;
    /** fragments: UDP payload bytes per datagram; above 1472 the client's stack fragments it at the lab's MTU. */
    public int fragmentPayload = 3000;
    /** short-connections: closed, open or both. */
    public String mode = "both";
    /**
     * short-connections: seconds of the same load through the path before each loop's measured {@link #durationS},
     * recorded nowhere. A segment starts its gateway and its load generator afresh, and their first seconds (a JIT
     * compiling, a table growing) are not what the path sustains.
     */
    public double settleS = 2;
    /** short-connections closed loop: connections in flight. */
    public int concurrency = 16;
    /** short-connections open loop: connections started per second. */
    public double rate = 1000;
    /** DNAT scenarios: backends of the service (addresses 10.77.2.11 ...). */
    public int backends = 3;
    /**
     * dns-a-aaaa: threads that send a lookup's two queries. 2: the A and the AAAA leave from one socket at the same
     * instant on two CPUs (the incident's condition: one new flow, two packets, two CPUs); 1: back to back from one
     * thread, as musl's loop does.
     */
    public int dnsSenders = 2;
    /** dns-a-aaaa: how long the resolver waits for both answers before it would retry (musl: 2.5 s on 2 servers). */
    public long dnsTimeoutMs = 2_500;
    /**
     * rollout: source ports per client address, reused in turn so that new connections reuse the tuples of closed
     * ones within seconds, as {@code ab -c 10} does in incident 2 (0: the kernel's ephemeral ports).
     */
    public int sourcePorts = 32;
    /** time-wait: the source NAT's ports, from 20000, that every NAT implementation translates TCP and UDP to. */
    public int poolPorts = 256;
    /**
     * TUN queue length set on natgw's (and nulltun's) TUN once it is up ({@code ip link set ngw0 txqueuelen N}); 0
     * leaves the device's default (500). Packets routed into the TUN while its reader is behind queue up to this
     * many per queue, then are dropped (the TUN's tx dropped).
     */
    public int tunTxqueuelen;
    /** Install missing tools with apt-get when root. */
    public boolean install = true;
    /** Stop natgw with SIGTERM and check it left no route, rule, neighbour entry or TUN behind. */
    public boolean checkLeftovers = true;

    public int threadsOrCpus()
    {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }
}
