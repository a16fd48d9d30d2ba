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
    /** throughput: parallel iperf3 TCP flows. */
    public int flows = 1;
    /** short-connections: closed, open or both. */
    public String mode = "both";
    /** short-connections closed loop: connections in flight. */
    public int concurrency = 16;
    /** short-connections open loop: connections started per second. */
    public double rate = 1000;
    /** Install missing tools with apt-get when root. */
    public boolean install = true;
    /** Stop natgw with SIGTERM and check it left no route, rule, neighbour entry or TUN behind. */
    public boolean checkLeftovers = true;

    public int threadsOrCpus()
    {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }
}
