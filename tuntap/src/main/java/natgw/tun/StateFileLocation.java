package natgw.tun;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Set;

/**
 * Where a gateway's state file lives and whose it is. Like the host network's undo journal, the file is
 * named after the TUN and the network namespace ({@code /run/natgw/TUN@netns-INODE.state}): two gateways
 * with the same TUN name in two namespaces are two gateways. The file must be memory (tmpfs): stores into
 * it are then never written back to a disk, and {@link HugePageFileMapper} can map it in huge pages. Where
 * {@code /run} is not tmpfs, it lives in {@code /dev/shm/natgw}, a directory only its owner may enter. Its identity is the boot (CLOCK_MONOTONIC,
 * the clock its deadlines count on, starts again at each) and the namespace's cookie (an inode number is
 * reused once a namespace dies; a cookie never is while the machine runs).
 */
public final class StateFileLocation
{
    private static final Path BOOT_ID = Path.of("/proc/sys/kernel/random/boot_id");

    private StateFileLocation()
    {
    }

    private static final Path SHM_DIR = Path.of("/dev/shm/natgw");

    /** The state file of the gateway on {@code tun} in the calling thread's network namespace. */
    public static Path forTun(final String tun)
    {
        return directory().resolve(tun + "@netns-" + Netns.currentInode() + ".state");
    }

    /** The directory of the state files: {@code /run/natgw} if it is on tmpfs, else {@code /dev/shm/natgw}. */
    public static Path directory()
    {
        final Path run = HostNetwork.DEFAULT_JOURNAL_DIR;
        final Path existing = Files.isDirectory(run) ? run : run.getParent();
        return existing != null && HugePageFileMapper.isTmpfs(existing) ? run : SHM_DIR;
    }

    /**
     * Makes {@link #directory()} if it is missing, accessible to its owner only. /dev/shm is writable by every
     * user: a directory there that is a link, or that another user owns or may write to, is refused.
     */
    public static Path createDirectory() throws IOException
    {
        return createPrivate(directory());
    }

    static Path createPrivate(final Path dir) throws IOException
    {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS))
        {
            try
            {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            catch (final FileAlreadyExistsException raced)
            {
                // made by a gateway starting at the same time: checked below like any other
            }
        }
        final PosixFileAttributes attributes = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        final Object owner = Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        final Object self = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        final Set<PosixFilePermission> permissions = attributes.permissions();
        if (!attributes.isDirectory() || !owner.equals(self) || permissions.contains(PosixFilePermission.GROUP_WRITE) ||
            permissions.contains(PosixFilePermission.OTHERS_WRITE))
        {
            throw new IOException("the state directory " + dir + " is not a directory of this user's that only it may " +
                "write to; remove it, and natgw makes it again");
        }
        return dir;
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
