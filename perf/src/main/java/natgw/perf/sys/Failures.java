package natgw.perf.sys;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.Callable;

import natgw.tun.Exec;
import natgw.tun.IoMessages;

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
        catch (final UncheckedIOException e)
        {
            // made as new UncheckedIOException(cause), its message is the cause's class name and path
            System.err.println("natgw: " + (e.getMessage().equals(e.getCause().toString()) ?
                IoMessages.describe(e.getCause()) : e.getMessage()));
            return 1;
        }
        catch (final IllegalStateException | IllegalArgumentException | Exec.CommandFailedException e)
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
        catch (final IOException e)
        {
            System.err.println("natgw: " + IoMessages.describe(e));
            return 1;
        }
        catch (final Exception e)
        {
            System.err.println("natgw: " + (e.getMessage() != null ? e.getMessage() : "internal error; run again " +
                "with NATGW_JAVA_OPTS=-Dnatgw.debug=true to see where it happened"));
            if (Boolean.getBoolean("natgw.debug"))
            {
                e.printStackTrace();
            }
            return 1;
        }
    }
}
