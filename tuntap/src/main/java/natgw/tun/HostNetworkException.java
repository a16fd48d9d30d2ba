package natgw.tun;

/**
 * A change to the host's network configuration failed. The message shows the command and its stderr
 * ("`ip route add 10.0.0.0/8 dev ngw0` exited 2: RTNETLINK answers: File exists").
 */
public final class HostNetworkException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    private final transient CommandResult result;

    public HostNetworkException(final String message, final CommandResult result, final Throwable cause)
    {
        super(message, cause);
        this.result = result;
    }

    /** The failed command and its output, or null if the failure was not a command (a sysctl write). */
    public CommandResult result()
    {
        return result;
    }
}
