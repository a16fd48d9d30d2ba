package natgw.perf.sys;

import java.io.UncheckedIOException;
import java.util.concurrent.Callable;

/**
 * Turns the expected failures of the lab and bench commands (not root, missing tool, lab exists, a system command
 * failed) into one {@code natgw: ...} line on stderr and exit code 1, instead of a stack trace.
 */
public final class Failures
{
    private Failures()
    {
    }

    public static int report(final Callable<Integer> body)
    {
        try
        {
            return body.call();
        }
        catch (final IllegalStateException | IllegalArgumentException | UncheckedIOException |
            Exec.CommandFailedException e)
        {
            System.err.println("natgw: " + e.getMessage());
            return 1;
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            System.err.println("natgw: interrupted");
            return 130;
        }
        catch (final RuntimeException e)
        {
            throw e;
        }
        catch (final Exception e)
        {
            System.err.println("natgw: " + e);
            return 1;
        }
    }
}
