import natgw.tun.LinuxTun;
import natgw.tun.TunQueue;
import org.agrona.concurrent.UnsafeBuffer;
import java.nio.ByteBuffer;

/** A TUN echo on natgw's own TunQueue (jnr-ffi read/write, poll when empty): nulltun.c in Java. */
public class JEcho {
    public static void main(String[] a) throws Exception {
        int q = 1; boolean vnet = false; String name = null; int batch = Integer.getInteger("batch", 64);
        for (int i = 0; i < a.length; i++) {
            if (a[i].equals("-q")) q = Integer.parseInt(a[++i]);
            else if (a[i].equals("-v")) vnet = true;
            else name = a[i];
        }
        LinuxTun tun = LinuxTun.open(name, q, 1500, vnet);
        for (int i = 0; i < q; i++) {
            final TunQueue queue = tun.queue(i);
            final int b = batch;
            Thread t = new Thread(() -> {
                UnsafeBuffer[] bufs = new UnsafeBuffer[b];
                for (int k = 0; k < b; k++) bufs[k] = new UnsafeBuffer(ByteBuffer.allocateDirect(65536 + 64));
                int[] sizes = new int[b];
                for (;;) {
                    int n = queue.read(bufs, sizes, 0);
                    if (n < 0) return;
                    if (n == 0) { queue.awaitReadable(100); continue; }
                    queue.write(bufs, sizes, 0, n);
                }
            });
            t.start();
        }
        Thread.currentThread().join();
    }
}
