package natgw.tun;

import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.FileDescriptor;
import java.nio.ByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * jnr-ffi (natgw's {@link Native}) against plain JNI (Netty's {@link FileDescriptor}) for the same system calls: a
 * read(2) of 8 bytes from an empty non-blocking eventfd (EAGAIN) and a write(2) of 8 bytes to it, 2,000,000 each,
 * eight rounds. Compile and run against the gateway's jar, in package natgw.tun (Native is package-private):
 * <pre>
 * mkdir -p /tmp/ffi/natgw/tun && cp docs/experiments/FfiCost.java /tmp/ffi/natgw/tun/
 * javac -cp gateway/target/natgw.jar -d /tmp/ffi /tmp/ffi/natgw/tun/FfiCost.java
 * java -cp gateway/target/natgw.jar:/tmp/ffi natgw.tun.FfiCost
 * </pre>
 */
public final class FfiCost
{
    public static void main(final String[] args) throws Exception
    {
        Epoll.ensureAvailability();
        final int efd = Native.libc().eventfd(0, 0x800 /* EFD_NONBLOCK */);
        final UnsafeBuffer buf = new UnsafeBuffer(ByteBuffer.allocateDirect(64));
        final long address = buf.addressOffset();
        final FileDescriptor fd = new FileDescriptor(efd);
        final int n = 2_000_000;
        for (int round = 0; round < 8; round++)
        {
            long t0 = System.nanoTime();
            long sink = 0;
            for (int i = 0; i < n; i++)
            {
                sink += Native.read(efd, address, 8);   // EAGAIN
                sink += Native.errno();
            }
            long t1 = System.nanoTime();
            for (int i = 0; i < n; i++)
            {
                sink += fd.readAddress(address, 0, 8); // EAGAIN -> 0
            }
            long t2 = System.nanoTime();
            buf.putLong(0, 1);
            for (int i = 0; i < n; i++)
            {
                sink += Native.write(efd, address, 8);
            }
            long t3 = System.nanoTime();
            for (int i = 0; i < n; i++)
            {
                sink += fd.writeAddress(address, 0, 8);
            }
            long t4 = System.nanoTime();
            // drain the counter so writes never block (non-blocking fd, counter far from overflow anyway)
            Native.read(efd, address + 8, 8);
            System.out.printf("round %d: read jnr %.1f ns, jni %.1f ns; write jnr %.1f ns, jni %.1f ns (%d)%n", round,
                (t1 - t0) / (double)n, (t2 - t1) / (double)n, (t3 - t2) / (double)n, (t4 - t3) / (double)n, sink & 1);
        }
    }
}
