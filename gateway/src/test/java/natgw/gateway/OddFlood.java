package natgw.gateway;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

import jnr.ffi.LibraryLoader;
import jnr.ffi.annotations.IgnoreError;
import jnr.ffi.annotations.SaveError;
import jnr.ffi.types.intptr_t;
import jnr.ffi.types.size_t;
import org.agrona.concurrent.UnsafeBuffer;

import natgw.core.flow.FlowTuple;
import natgw.core.packet.Ipv4Header;
import natgw.core.packet.OddPackets;
import natgw.core.packet.PacketBuilder;

/**
 * Sends {@link OddPackets} of every kind from a raw IPv4 socket (IP_HDRINCL), so they take the host's routing like
 * any packet of an inside host: {@code LabPeers odd-flood COUNT_PER_KIND SRC_PREFIX DST SEED}.
 * The kernel completes the header's checksum and total length and refuses a header longer than the packet; the
 * rest goes out as built. Sources are SRC_PREFIX.2 to .254. Prints {@code sent N refused M last errno E} when done.
 */
public final class OddFlood
{
    private static final int AF_INET = 2;
    private static final int SOCK_RAW = 3;
    private static final int IPPROTO_RAW = 255;
    private static final int SOCKADDR_IN_LENGTH = 16;

    public interface LibC
    {
        @SaveError
        int socket(int domain, int type, int protocol);

        @SaveError
        int bind(int fd, @intptr_t long addr, int addrlen);

        @SaveError
        int connect(int fd, @intptr_t long addr, int addrlen);

        @SaveError
        long send(int fd, @intptr_t long buf, @size_t long len, int flags);

        @IgnoreError
        int close(int fd);
    }

    private OddFlood()
    {
    }

    static void main(final String[] args)
    {
        final int countPerKind = Integer.parseInt(args[0]);
        final int srcPrefix = FlowTuple.parseAddress(args[1] + ".0");
        final int dst = FlowTuple.parseAddress(args[2]);
        final SplittableRandom random = new SplittableRandom(Long.parseLong(args[3]));
        final LibC libc = LibraryLoader.create(LibC.class).load("c");
        final int fd = libc.socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
        if (fd < 0)
        {
            throw new IllegalStateException("raw socket: errno " + jnr.ffi.Runtime.getSystemRuntime().getLastError() +
                " (needs root or CAP_NET_RAW)");
        }
        final OddPackets odd = new OddPackets(new PacketBuilder());
        final UnsafeBuffer packet = odd.buffer();
        final UnsafeBuffer address = new UnsafeBuffer(ByteBuffer.allocateDirect(SOCKADDR_IN_LENGTH));
        address.putShort(0, (short)AF_INET);
        // bound to an inside address first: the socket's first connect would otherwise fix its source for good, and a
        // random packet's loopback destination (127.0.0.1 as source) made every later connect fail with EINVAL
        address.putInt(4, srcPrefix | 2, ByteOrder.BIG_ENDIAN);
        if (libc.bind(fd, address.addressOffset(), SOCKADDR_IN_LENGTH) != 0)
        {
            throw new IllegalStateException("raw socket bind: errno " + jnr.ffi.Runtime.getSystemRuntime().getLastError());
        }
        long sent = 0;
        long refused = 0;
        int lastErrno = 0;
        for (int i = 0; i < countPerKind; i++)
        {
            for (final OddPackets.Kind kind : OddPackets.Kind.values())
            {
                final int src = srcPrefix | 2 + random.nextInt(253);
                final int length = odd.build(kind, random, src, dst);
                if (length < Ipv4Header.MIN_LENGTH)
                {
                    refused++; // a raw IPv4 socket needs a whole header
                    continue;
                }
                // the kernel routes by the connected address, not the header's: the header's own destination
                // (connect, then send: jnr's sendto passed a garbage address length)
                address.putInt(4, packet.getInt(Ipv4Header.DST_ADDRESS_OFFSET, ByteOrder.BIG_ENDIAN), ByteOrder.BIG_ENDIAN);
                if (libc.connect(fd, address.addressOffset(), SOCKADDR_IN_LENGTH) == 0 &&
                    libc.send(fd, packet.addressOffset(), length, 0) == length)
                {
                    sent++;
                }
                else
                {
                    refused++;
                    lastErrno = jnr.ffi.Runtime.getSystemRuntime().getLastError();
                }
            }
        }
        libc.close(fd);
        System.out.println("sent " + sent + " refused " + refused + " last errno " + lastErrno);
    }
}
