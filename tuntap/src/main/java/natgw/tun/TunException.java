package natgw.tun;

/**
 * A TUN device could not be opened, configured or used. The message names the device and, when a system
 * call failed, its errno as name and text ("EPERM (Operation not permitted)"); {@link #errno()} is 0
 * when no system call was involved.
 */
public final class TunException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    private final String deviceName;
    private final int errno;

    public TunException(final String deviceName, final int errno, final String message)
    {
        super(message);
        this.deviceName = deviceName;
        this.errno = errno;
    }

    /** The TUN device concerned, as the caller named it. */
    public String deviceName()
    {
        return deviceName;
    }

    /** errno of the failed system call, or 0. */
    public int errno()
    {
        return errno;
    }
}
