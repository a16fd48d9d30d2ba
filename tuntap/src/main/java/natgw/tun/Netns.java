package natgw.tun;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * Network-namespace plumbing. setns(2) with CLONE_NEWNET moves only the calling thread, so work meant for
 * another namespace runs on a short-lived thread that enters it, does the work and ends; the caller's
 * thread never changes namespace. Sockets, TUN fds and child processes made on that thread belong to that
 * namespace for good and may be used from any thread afterwards.
 */
public final class Netns
{
    private static final Path THREAD_NETNS = Path.of("/proc/thread-self/ns/net");

    private Netns()
    {
    }

    /** Inode of the calling thread's network namespace: equal inodes, same namespace (while both live). */
    public static long currentInode()
    {
        try
        {
            return (Long)Files.getAttribute(THREAD_NETNS, "unix:ino");
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot stat " + THREAD_NETNS, ex);
        }
    }

    /** An O_CLOEXEC fd on the calling thread's network namespace, for {@link #call}; the caller closes it. */
    static int openCurrent()
    {
        return openPath(THREAD_NETNS.toString());
    }

    public static int openPath(final String path)
    {
        final int fd = Native.libc().open(path, Native.O_RDONLY | Native.O_CLOEXEC);
        if (fd < 0)
        {
            throw new IllegalStateException("cannot open network namespace " + path + ": " + Native.errnoText(Native.errno()));
        }
        return fd;
    }

    /** Runs {@code task} on a new thread inside the namespace {@code nsFd}, waits for it, and returns its result. */
    public static <T> T call(final int nsFd, final String label, final Callable<T> task) throws Exception
    {
        final Object[] result = new Object[1];
        final Throwable[] failure = new Throwable[1];
        final Thread thread = new Thread(
            () ->
            {
                if (Native.libc().setns(nsFd, Native.CLONE_NEWNET) != 0)
                {
                    failure[0] = new IllegalStateException(
                        "setns into network namespace " + label + " failed: " + Native.errnoText(Native.errno()) +
                        (Native.errno() == Native.EPERM ? "; needs root or CAP_SYS_ADMIN" : ""));
                    return;
                }
                try
                {
                    result[0] = task.call();
                }
                catch (final Throwable t)
                {
                    failure[0] = t;
                }
            },
            "netns-" + label);
        thread.setDaemon(true);
        thread.start();
        thread.join();

        final Throwable t = failure[0];
        if (null != t)
        {
            if (t instanceof Exception)
            {
                throw (Exception)t;
            }
            throw (Error)t;
        }
        @SuppressWarnings("unchecked") final T value = (T)result[0];
        return value;
    }
}
