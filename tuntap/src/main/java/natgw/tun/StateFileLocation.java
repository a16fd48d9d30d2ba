package natgw.tun;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Where a gateway's state file lives and whose it is. Like the host network's undo journal, the file is
 * named after the TUN and the network namespace ({@code /run/natgw/TUN@netns-INODE.state}): two gateways
 * with the same TUN name in two namespaces are two gateways. Its identity is the boot (CLOCK_MONOTONIC,
 * the clock its deadlines count on, starts again at each) and the namespace's cookie (an inode number is
 * reused once a namespace dies; a cookie never is while the machine runs).
 */
public final class StateFileLocation
{
    private static final Path BOOT_ID = Path.of("/proc/sys/kernel/random/boot_id");

    private StateFileLocation()
    {
    }

    /** The state file of the gateway on {@code tun} in the calling thread's network namespace. */
    public static Path forTun(final String tun)
    {
        return HostNetwork.DEFAULT_JOURNAL_DIR.resolve(tun + "@netns-" + Netns.currentInode() + ".state");
    }

    /** Options naming the boot and the network namespace the state belongs to (see {@code StateFile}). */
    public static Map<String, String> identity()
    {
        String boot;
        try
        {
            boot = new String(Files.readAllBytes(BOOT_ID)).trim();
        }
        catch (final IOException ex)
        {
            boot = "unknown";
        }
        return Map.of("identity.boot", boot, "identity.netns", String.valueOf(UndoJournal.netnsCookie()));
    }
}
