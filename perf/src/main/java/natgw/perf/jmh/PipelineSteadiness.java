package natgw.perf.jmh;

/**
 * How steady the machine is, for reading {@code PipelineBenchmark} figures: in one JVM, so that the JIT's
 * code is the same throughout, builds several populations (tables in their own huge pages) and runs
 * {@code processBatch}'s loop over each in turn, round after round, printing the rate of every second. A rate
 * that follows the table points at its memory; one that follows the clock points at the machine.
 * <pre>
 *   java -Xmx8g -Dagrona.disable.bounds.checks=true -cp perf/target/benchmarks.jar \
 *       natgw.perf.jmh.PipelineSteadiness CONNECTIONS [TABLES [ROUNDS [SECONDS]]]
 * </pre>
 */
public final class PipelineSteadiness
{
    private PipelineSteadiness()
    {
    }

    public static void main(final String[] args)
    {
        if (args.length < 1)
        {
            System.err.println("usage: PipelineSteadiness CONNECTIONS [TABLES [ROUNDS [SECONDS]]]");
            System.exit(2);
        }
        final int connections = Integer.parseInt(args[0]);
        final int tables = args.length > 1 ? Integer.parseInt(args[1]) : 4;
        final int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        final int seconds = args.length > 3 ? Integer.parseInt(args[3]) : 4;
        final PipelineBenchmark.Worker[] workers = new PipelineBenchmark.Worker[tables];
        for (int t = 0; t < tables; t++)
        {
            final PipelineBenchmark benchmark = new PipelineBenchmark();
            benchmark.pages = "huge";
            benchmark.steering = "shared";
            benchmark.verifyL4Checksums = true;
            benchmark.setUp(connections);
            workers[t] = new PipelineBenchmark.Worker();
            workers[t].setUp(benchmark, 0, 1);
        }
        final PipelineBenchmark batches = new PipelineBenchmark();
        System.out.printf("connections=%d: Mpps per second, each line one table's turn%n", connections);
        for (int round = 0; round < rounds; round++)
        {
            for (int t = 0; t < tables; t++)
            {
                final PipelineBenchmark.Worker worker = workers[t];
                final StringBuilder line = new StringBuilder(String.format("round %d table %d:", round, t));
                for (int s = 0; s < seconds; s++)
                {
                    worker.tick();
                    final long start = System.nanoTime();
                    final long end = start + 1_000_000_000L;
                    long packets = 0;
                    while (System.nanoTime() < end)
                    {
                        for (int i = 0; i < 64; i++)
                        {
                            batches.processBatch(worker);
                        }
                        packets += 64 * PipelineBenchmark.BATCH;
                    }
                    line.append(String.format(" %.2f", packets * 1000.0 / (System.nanoTime() - start)));
                }
                worker.checkVerdicts();
                System.out.println(line);
            }
        }
    }
}
