package natgw.tun.testing;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import jnr.ffi.LibraryLoader;
import jnr.ffi.annotations.IgnoreError;
import jnr.ffi.annotations.SaveError;
import jnr.ffi.types.intptr_t;
import jnr.ffi.types.size_t;
import natgw.tun.Native;
import natgw.tun.Netns;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Hands raw bytes to an interface's transmit path through an AF_PACKET socket: on a TUN device they
 * come out of its file descriptor exactly as given, unvalidated, as if the kernel had routed them there.
 * For tests of what a gateway does with malformed packets; not used by the gateway.
 */
public final class PacketInjector implements AutoCloseable
{
    private static final int AF_PACKET = 17;
    private static final int SOCK_DGRAM = 2;
    private static final int ETH_P_IP = 0x0800;
    private static final int SOCKADDR_LL_LENGTH = 20;

    public interface LibC
    {
        @SaveError
        int socket(int domain, int type, int protocol);

        @SaveError
        int bind(int fd, @intptr_t long addr, int addrlen);

        @SaveError
        long send(int fd, @intptr_t long buf, @size_t long len, int flags);

        @IgnoreError
        int if_nametoindex(String name);

        @IgnoreError
        int close(int fd);
    }

    private static final LibC LIBC = LibraryLoader.create(LibC.class).load("c");

    private final int fd;
    private final String description;
    private final UnsafeBuffer address = new UnsafeBuffer(ByteBuffer.allocateDirect(SOCKADDR_LL_LENGTH));
    private final UnsafeBuffer packet = new UnsafeBuffer(ByteBuffer.allocateDirect(65536));

    private PacketInjector(final int fd, final int ifindex, final String description)
    {
        this.fd = fd;
        this.description = description;
        address.setMemory(0, SOCKADDR_LL_LENGTH, (byte)0);
        address.putShort(0, (short)AF_PACKET);
        address.putShort(2, (short)ETH_P_IP, ByteOrder.BIG_ENDIAN);
        address.putInt(4, ifindex);
    }

    /**
     * Opens an injector on interface {@code ifName} of the named network namespace ({@code ip netns}
     * name), or of the caller's namespace if {@code netns} is null.
     */
    public static PacketInjector open(final String netns, final String ifName) throws Exception
    {
        final String description = ifName + (netns != null ? " in " + netns : "");
        final java.util.concurrent.Callable<PacketInjector> task = () ->
        {
            final int ifindex = LIBC.if_nametoindex(ifName);
            if (ifindex == 0)
            {
                throw new IllegalStateException("no interface " + description);
            }
            final int fd = LIBC.socket(AF_PACKET, SOCK_DGRAM, Short.toUnsignedInt(Short.reverseBytes((short)ETH_P_IP)));
            if (fd < 0)
            {
                throw new IllegalStateException("AF_PACKET socket for " + description + ": " +
                    Native.errnoText(Native.errno()) + " (needs root or CAP_NET_RAW)");
            }
            final PacketInjector injector = new PacketInjector(fd, ifindex, description);
            if (LIBC.bind(fd, injector.address.addressOffset(), SOCKADDR_LL_LENGTH) != 0)
            {
                final String error = Native.errnoText(Native.errno());
                LIBC.close(fd);
                throw new IllegalStateException("bind AF_PACKET socket to " + description + ": " + error);
            }
            return injector;
        };
        if (netns == null)
        {
            return task.call();
        }
        final int nsFd = Netns.openPath("/run/netns/" + netns);
        try
        {
            return Netns.call(nsFd, netns, task);
        }
        finally
        {
            Native.libc().close(nsFd);
        }
    }

    /** Transmits {@code length} bytes as one packet; throws if the kernel refuses them. */
    public void send(final byte[] bytes, final int length)
    {
        packet.putBytes(0, bytes, 0, length);
        // bound to the interface: no address per send (jnr-ffi mangles sendto's sixth argument here)
        final long sent = LIBC.send(fd, packet.addressOffset(), length, 0);
        if (sent != length)
        {
            throw new IllegalStateException("send to " + description + " (" + length + " bytes): " +
                (sent < 0 ? Native.errnoText(Native.errno()) : "sent " + sent));
        }
    }

    public void send(final byte[] bytes)
    {
        send(bytes, bytes.length);
    }

    public void close()
    {
        LIBC.close(fd);
    }
}
