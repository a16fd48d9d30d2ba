package natgw.tun;

import java.util.List;

/**
 * How an external command run by {@link Exec} ended.
 *
 * @param command  the argument vector as run.
 * @param exitCode its exit status; {@link Exec#TIMED_OUT} if it was killed after its timeout,
 *                 {@link Exec#NOT_STARTED} if it could not be started.
 * @param stdout   standard output, whole.
 * @param stderr   standard error, whole.
 */
public record CommandResult(List<String> command, int exitCode, String stdout, String stderr)
{
    public boolean ok()
    {
        return 0 == exitCode;
    }

    /** Throws with the command, exit code and stderr when the command failed. */
    public CommandResult orThrow()
    {
        if (!ok())
        {
            throw new Exec.CommandFailedException(this);
        }
        return this;
    }

    /** "`ip route add ...` exited 2: RTNETLINK answers: File exists". */
    public String describe()
    {
        final String err = stderr.strip();
        return "`" + String.join(" ", command) + "` " + (Exec.TIMED_OUT == exitCode ? "timed out" : "exited " + exitCode) +
            (err.isEmpty() ? "" : ": " + err);
    }
}
