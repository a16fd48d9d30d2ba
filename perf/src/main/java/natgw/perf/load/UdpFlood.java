package natgw.perf.load;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Java fallback for udpflood.c when gcc or the C source is not at hand: one connected UDP socket per thread
 * sending 18-byte payloads for a fixed time. One syscall per packet (no sendmmsg), so it offers less load than
 * udpflood; the report says which flooder ran. Same arguments and output as udpflood:
 * {@code UdpFlood DST_IP PORT SECONDS THREADS [SRC_IP...]}, prints {@code thread N sent X}. With the system property
 * {@value #PAYLOAD_PROPERTY}, datagrams of that many bytes instead (above the path MTU, the sending stack fragments them).
 */
public final class UdpFlood
{
    public static final String PAYLOAD_PROPERTY = "natgw.flood.payload";

    public static void main(final String[] args) throws Exception
    {
        final InetSocketAddress destination = new InetSocketAddress(args[0], Integer.parseInt(args[1]));
        final long durationNs = TimeUnit.SECONDS.toNanos(Long.parseLong(args[2]));
        final int threads = Integer.parseInt(args[3]);
        final List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++)
        {
            final int index = t;
            final String source = args.length > 4 ? args[4 + t % (args.length - 4)] : null;
            final Thread worker = new Thread(() -> flood(index, source, destination, durationNs));
            workers.add(worker);
            worker.start();
        }
        for (final Thread worker : workers)
        {
            worker.join();
        }
    }

    private static void flood(final int index, final String source, final InetSocketAddress destination,
        final long durationNs)
    {
        long sent = 0;
        try (DatagramChannel channel = DatagramChannel.open())
        {
            if (source != null)
            {
                channel.bind(new InetSocketAddress(source, 0));
            }
            channel.connect(destination);
            final ByteBuffer payload = ByteBuffer.allocateDirect(Integer.getInteger(PAYLOAD_PROPERTY, 18));
            payload.put("0123456789abcdefg".getBytes(java.nio.charset.StandardCharsets.US_ASCII)).put((byte)0).clear();
            final long endNs = System.nanoTime() + durationNs;
            while (System.nanoTime() < endNs)
            {
                for (int i = 0; i < 64; i++)
                {
                    payload.rewind();
                    try
                    {
                        if (channel.write(payload) > 0)
                        {
                            sent++;
                        }
                    }
                    catch (final java.io.IOException e)
                    {
                        // ECONNREFUSED from an ICMP error, or ENOBUFS: keep sending, as udpflood does
                    }
                }
            }
        }
        catch (final java.io.IOException e)
        {
            System.out.println("thread " + index + " failed: " + e.getMessage());
        }
        System.out.println("thread " + index + " sent " + sent);
    }
}
