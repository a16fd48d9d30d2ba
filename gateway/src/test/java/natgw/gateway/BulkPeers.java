package natgw.gateway;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

/**
 * Bulk TCP both ways at once, in a lab namespace, each a separate JVM: {@code server PORT BYTES SEED} accepts one
 * connection, {@code client HOST PORT BYTES SEED} opens it; each side writes BYTES of a seeded pseudo-random stream
 * and reads BYTES of the other's, then prints {@code sent N SHA256}, {@code received N SHA256} and {@code done}, and
 * keeps the connection established (no FIN: {@code ss -ti} can still read its TCP counters) until its stdin
 * closes or it is killed. Socket buffers of 256 KiB bound what is in flight to a few hundred segments.
 */
public final class BulkPeers
{
    private static final int CHUNK = 256 * 1024;
    private static final int BUFFER = 256 * 1024;

    public static void main(final String[] args) throws Exception
    {
        final Socket socket;
        if (args[0].equals("server"))
        {
            try (ServerSocket listener = new ServerSocket())
            {
                listener.bind(new InetSocketAddress(Integer.parseInt(args[1])));
                System.out.println("ready");
                System.out.flush();
                socket = listener.accept();
            }
        }
        else
        {
            socket = new Socket();
            socket.connect(new InetSocketAddress(args[1], Integer.parseInt(args[2])), 10_000);
        }
        final int at = args[0].equals("server") ? 2 : 3;
        final long bytes = Long.parseLong(args[at]);
        final long seed = Long.parseLong(args[at + 1]);
        socket.setReceiveBufferSize(BUFFER);
        socket.setSendBufferSize(BUFFER);

        final CompletableFuture<String> sent = CompletableFuture.supplyAsync(() -> send(socket, bytes, seed));
        final String received = receive(socket, bytes);
        System.out.println("sent " + sent.get());
        System.out.println("received " + received);
        System.out.println("local " + socket.getLocalPort());
        System.out.println("done");
        System.out.flush();
        while (System.in.read() >= 0)
        {
            // hold the connection until told
        }
        socket.close();
    }

    private static String send(final Socket socket, final long bytes, final long seed)
    {
        try
        {
            final MessageDigest sha = MessageDigest.getInstance("SHA-256");
            final SplittableRandom random = new SplittableRandom(seed);
            final byte[] chunk = new byte[CHUNK];
            final OutputStream out = socket.getOutputStream();
            long left = bytes;
            while (left > 0)
            {
                final int n = (int)Math.min(chunk.length, left);
                for (int i = 0; i < n; i += 8)
                {
                    long v = random.nextLong();
                    for (int k = 0; k < 8 && i + k < n; k++, v >>>= 8)
                    {
                        chunk[i + k] = (byte)v;
                    }
                }
                sha.update(chunk, 0, n);
                out.write(chunk, 0, n);
                left -= n;
            }
            out.flush();
            return bytes + " " + HexFormat.of().formatHex(sha.digest());
        }
        catch (final Exception ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    private static String receive(final Socket socket, final long bytes) throws Exception
    {
        final MessageDigest sha = MessageDigest.getInstance("SHA-256");
        final byte[] chunk = new byte[CHUNK];
        final InputStream in = socket.getInputStream();
        long total = 0;
        int n;
        while (total < bytes && (n = in.read(chunk, 0, (int)Math.min(chunk.length, bytes - total))) >= 0)
        {
            sha.update(chunk, 0, n);
            total += n;
        }
        return total + " " + HexFormat.of().formatHex(sha.digest());
    }
}
