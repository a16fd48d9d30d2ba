package natgw.gateway;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;

/**
 * Traffic whose every byte is the same whoever translates it, for comparing natgw's counters with the kernel's:
 * {@code server PORT} sends each UDP datagram back as it came; {@code client HOST PORT BYTES} sends one datagram of
 * BYTES and prints {@code answered} when the same number of bytes comes back.
 */
public final class MirrorPeer
{
    public static void main(final String[] args) throws Exception
    {
        if (args[0].equals("server"))
        {
            try (DatagramSocket socket = new DatagramSocket(Integer.parseInt(args[1])))
            {
                System.out.println("ready");
                System.out.flush();
                final byte[] buffer = new byte[65536];
                while (true)
                {
                    final DatagramPacket in = new DatagramPacket(buffer, buffer.length);
                    socket.receive(in);
                    socket.send(new DatagramPacket(buffer, in.getLength(), in.getSocketAddress()));
                }
            }
        }
        try (DatagramSocket socket = new DatagramSocket())
        {
            socket.setSoTimeout(5000);
            socket.connect(new InetSocketAddress(args[1], Integer.parseInt(args[2])));
            final byte[] ask = new byte[Integer.parseInt(args[3])];
            socket.send(new DatagramPacket(ask, ask.length));
            final DatagramPacket in = new DatagramPacket(new byte[65536], 65536);
            socket.receive(in);
            System.out.println(in.getLength() == ask.length ? "answered" : "answered " + in.getLength() + " bytes");
        }
    }
}
