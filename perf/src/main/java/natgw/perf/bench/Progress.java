package natgw.perf.bench;

import java.io.PrintStream;

/**
 * One progress line on stderr, rewritten in place ({@code \r}) on a terminal at most ten times a second; when
 * stderr is not a terminal, one line per phase and at most one update every five seconds.
 */
public final class Progress
{
    private final PrintStream out;
    private final boolean terminal;
    private final boolean quiet;
    private String phase = "";
    private long lastPrintNs;
    private int lastLength;

    public Progress(final PrintStream out, final boolean terminal, final boolean quiet)
    {
        this.out = out;
        this.terminal = terminal;
        this.quiet = quiet;
    }

    /** Progress on stderr, in place when a console is attached. */
    public static Progress stderr()
    {
        return new Progress(System.err, System.console() != null, false);
    }

    public static Progress silent()
    {
        return new Progress(System.err, false, true);
    }

    /** Starts a phase ("connect-storm natgw-reserve block 1/2"); always shown. */
    public synchronized void phase(final String text)
    {
        phase = text;
        print(text, true);
    }

    /** Detail of the current phase ("round 34/50, 1360 connections, 0 stalls"); throttled. */
    public synchronized void update(final String detail)
    {
        print(phase + ": " + detail, false);
    }

    /** Ends the in-place line so that the next output starts on a fresh line. */
    public synchronized void done()
    {
        if (terminal && lastLength > 0 && !quiet)
        {
            out.print("\r" + " ".repeat(lastLength) + "\r");
            out.flush();
        }
        lastLength = 0;
    }

    /** A line that stays (a warning, a result), printed above the progress line. */
    public synchronized void message(final String text)
    {
        if (quiet)
        {
            return;
        }
        done();
        out.println(text);
        out.flush();
    }

    private void print(final String text, final boolean force)
    {
        if (quiet)
        {
            return;
        }
        final long nowNs = System.nanoTime();
        final long minGapNs = terminal ? 100_000_000L : 5_000_000_000L;
        if (!force && nowNs - lastPrintNs < minGapNs)
        {
            return;
        }
        lastPrintNs = nowNs;
        if (terminal)
        {
            final String line = text.length() > 150 ? text.substring(0, 150) : text;
            out.print("\r" + line + " ".repeat(Math.max(0, lastLength - line.length())));
            lastLength = line.length();
        }
        else
        {
            out.println(text);
        }
        out.flush();
    }
}
