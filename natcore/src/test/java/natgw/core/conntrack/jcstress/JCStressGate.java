package natgw.core.conntrack.jcstress;

import java.util.Collection;
import java.util.SortedSet;
import java.util.TreeSet;

import org.openjdk.jcstress.JCStress;
import org.openjdk.jcstress.Options;
import org.openjdk.jcstress.infra.Status;
import org.openjdk.jcstress.infra.collectors.DiskReadCollector;
import org.openjdk.jcstress.infra.collectors.InProcessCollector;
import org.openjdk.jcstress.infra.collectors.TestResult;
import org.openjdk.jcstress.infra.grading.GradingResult;

/**
 * Runs the JCStress tests of this package and exits non-zero if any test failed, erred, or did not
 * run at all (JCStress 0.16's own Main exits 0 whatever it found). Arguments are JCStress's; the
 * Maven build passes a bounded time per test (natcore/pom.xml, execution "jcstress").
 * <pre>
 *   mvn -pl natcore verify                                 # as CI runs it
 *   mvn -pl natcore verify -Djcstress.args="-m default"    # longer, by hand
 * </pre>
 */
public final class JCStressGate
{
    private JCStressGate()
    {
    }

    public static void main(final String[] args) throws Exception
    {
        final String[] withFilter = hasFilter(args) ? args : append(args, "-t", "natgw\\..*\\.jcstress\\..*");
        final Options options = new Options(withFilter);
        if (!options.parse())
        {
            System.exit(2);
        }
        final JCStress jcstress = new JCStress(options);
        final SortedSet<String> expected = new TreeSet<>(jcstress.getTests());
        if (expected.isEmpty())
        {
            System.err.println("JCStressGate: no JCStress test matched; was the annotation processor run at test-compile?");
            System.exit(1);
        }
        try
        {
            jcstress.run();
        }
        catch (final AssertionError failures)
        {
            // JCStress 0.16 throws once it has printed the report; the verdict below reads the results itself
            System.err.println("JCStressGate: JCStress reported failures");
        }

        final InProcessCollector collector = new InProcessCollector();
        final DiskReadCollector reader = new DiskReadCollector(options.getResultFile(), collector);
        reader.dump();
        reader.close();

        int failures = 0;
        final SortedSet<String> ran = new TreeSet<>();
        final Collection<TestResult> results = collector.getTestResults();
        for (final TestResult result : results)
        {
            ran.add(result.getName());
            final boolean passed = result.status() == Status.NORMAL && result.grading().isPassed;
            if (!passed)
            {
                failures++;
                System.err.println("JCStressGate: FAILED " + result.getName() + " status=" + result.status() +
                    " config=" + result.getConfig());
                for (final GradingResult grading : result.grading().gradingResults.values())
                {
                    System.err.printf("    %-60s %12d  %-22s %s%n", grading.id, grading.count, grading.expect, grading.description);
                }
                result.grading().failureMessages.forEach(m -> System.err.println("    " + m));
                result.getMessages().forEach(m -> System.err.println("    " + m));
            }
        }
        final SortedSet<String> missing = new TreeSet<>(expected);
        missing.removeAll(ran);
        for (final String name : missing)
        {
            failures++;
            System.err.println("JCStressGate: DID NOT RUN " + name + " (not enough CPUs for its actors?)");
        }
        System.out.printf("JCStressGate: %d tests, %d results, %d failed or missing%n", expected.size(), results.size(), failures);
        System.exit(failures == 0 ? 0 : 1);
    }

    private static boolean hasFilter(final String[] args)
    {
        for (final String arg : args)
        {
            if (arg.equals("-t"))
            {
                return true;
            }
        }
        return false;
    }

    private static String[] append(final String[] args, final String... more)
    {
        final String[] all = new String[args.length + more.length];
        System.arraycopy(args, 0, all, 0, args.length);
        System.arraycopy(more, 0, all, args.length, more.length);
        return all;
    }
}
