package natgw.tun;

import java.util.List;

/**
 * How an external command (iproute2's {@code ip}) ended.
 *
 * @param command  the argument vector as run.
 * @param exitCode its exit status; -1 if it had to be killed after its timeout.
 * @param stdout   standard output, whole.
 * @param stderr   standard error, whole.
 */
public record CommandResult(List<String> command, int exitCode, String stdout, String stderr)
{
    public boolean succeeded()
    {
        return 0 == exitCode;
    }

    /** "`ip route add ...` exited 2: RTNETLINK answers: File exists". */
    public String describe()
    {
        final String err = stderr.strip();
        return "`" + String.join(" ", command) + "` " + (exitCode < 0 ? "timed out" : "exited " + exitCode) +
            (err.isEmpty() ? "" : ": " + err);
    }
}
