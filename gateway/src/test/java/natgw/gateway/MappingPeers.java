package natgw.gateway;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/**
 * Plain-socket peers of {@link EndpointMappingIT}, started through {@link LabPeers}: each binds the exact address and
 * port it is told, so what a peer prints is what the other end of the NAT saw.
 */
final class MappingPeers
{
    private MappingPeers()
    {
    }

    private static InetSocketAddress at(final String address, final String port)
    {
        return new InetSocketAddress(address, Integer.parseInt(port));
    }

    /** UDP on ADDR:PORT: answers each datagram with "from IP:PORT" of its sender. */
    static void udpEchoAt(final String address, final String port) throws Exception
    {
        try (DatagramSocket socket = new DatagramSocket(at(address, port)))
        {
            System.out.println("ready");
            final byte[] buffer = new byte[2048];
            while (true)
            {
                final DatagramPacket in = new DatagramPacket(buffer, buffer.length);
                socket.receive(in);
                final byte[] reply = ("from " + in.getAddress().getHostAddress() + ":" + in.getPort()).getBytes(StandardCharsets.UTF_8);
                socket.send(new DatagramPacket(reply, reply.length, in.getSocketAddress()));
            }
        }
    }

    /**
     * UDP from one socket on SRC:PORT: asks each DST:PORT in turn and prints "DST:PORT REPLY"; then, with
     * {@code waitSeconds} > 0, prints "listening" and every datagram that arrives within that time as
     * "got IP:PORT TEXT", answering it ("from IP:PORT").
     */
    static void udpProbe(final String src, final String srcPort, final int waitSeconds, final String[] destinations) throws Exception
    {
        try (DatagramSocket socket = new DatagramSocket(at(src, srcPort)))
        {
            socket.setSoTimeout(10_000);
            final byte[] ask = "ping".getBytes(StandardCharsets.UTF_8);
            for (final String destination : destinations)
            {
                final int colon = destination.indexOf(':');
                socket.send(new DatagramPacket(ask, ask.length, at(destination.substring(0, colon), destination.substring(colon + 1))));
                final DatagramPacket in = new DatagramPacket(new byte[2048], 2048);
                socket.receive(in);
                System.out.println(destination + " " + new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8));
            }
            if (waitSeconds <= 0)
            {
                return;
            }
            System.out.println("listening");
            socket.setSoTimeout(waitSeconds * 1000);
            while (true)
            {
                final DatagramPacket in = new DatagramPacket(new byte[2048], 2048);
                socket.receive(in);
                System.out.println("got " + in.getAddress().getHostAddress() + ":" + in.getPort() + " " +
                    new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8));
                final byte[] reply = ("from " + in.getAddress().getHostAddress() + ":" + in.getPort()).getBytes(StandardCharsets.UTF_8);
                socket.send(new DatagramPacket(reply, reply.length, in.getSocketAddress()));
            }
        }
    }

    /**
     * UDP from SRC:PORT to DST:PORT, once, unasked; with {@code waitSeconds} > 0, prints the answer if one comes within
     * that time, else "no answer".
     */
    static void udpSend(final String src, final String srcPort, final String dst, final String dstPort, final int waitSeconds)
        throws Exception
    {
        try (DatagramSocket socket = new DatagramSocket(at(src, srcPort)))
        {
            final byte[] hello = "unsolicited".getBytes(StandardCharsets.UTF_8);
            socket.send(new DatagramPacket(hello, hello.length, at(dst, dstPort)));
            System.out.println("sent");
            if (waitSeconds <= 0)
            {
                return;
            }
            socket.setSoTimeout(waitSeconds * 1000);
            final DatagramPacket in = new DatagramPacket(new byte[2048], 2048);
            try
            {
                socket.receive(in);
                System.out.println(new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8));
            }
            catch (final java.net.SocketTimeoutException ex)
            {
                System.out.println("no answer");
            }
        }
    }

    /** TCP on ADDR:PORT: tells each connection "you are IP:PORT" and keeps it open until the peer closes it. */
    static void tcpGreet(final String address, final String port) throws Exception
    {
        try (ServerSocketChannel server = ServerSocketChannel.open())
        {
            server.bind(at(address, port));
            System.out.println("ready");
            while (true)
            {
                final SocketChannel channel = server.accept();
                final Thread thread = new Thread(() -> greet(channel));
                thread.setDaemon(true);
                thread.start();
            }
        }
    }

    private static void greet(final SocketChannel channel)
    {
        try (Socket socket = channel.socket())
        {
            final InetSocketAddress remote = (InetSocketAddress)socket.getRemoteSocketAddress();
            final OutputStream out = socket.getOutputStream();
            out.write(("you are " + remote.getAddress().getHostAddress() + ":" + remote.getPort() + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            while (socket.getInputStream().read() >= 0)
            {
                // held open until the peer closes it
            }
        }
        catch (final Exception ignore)
        {
            // the peer went away
        }
    }

    /**
     * A TCP server behind the NAT with a mapping of its own: listens on ADDR:PORT and, from the same ADDR:PORT
     * (SO_REUSEPORT), holds a connection to OUT:OUTPORT open, whose first line ("you are POOL:PORT") it prints as
     * "mapped POOL:PORT"; then "ready", and it tells every connection it accepts "hello IP:PORT" of its peer.
     */
    static void tcpListenMapped(final String address, final String port, final String out, final String outPort) throws Exception
    {
        try (ServerSocketChannel server = ServerSocketChannel.open(); SocketChannel keep = SocketChannel.open())
        {
            server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            server.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            server.bind(at(address, port));
            keep.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            keep.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            keep.bind(at(address, port));
            keep.connect(at(out, outPort));
            final BufferedReader greeting = new BufferedReader(new InputStreamReader(keep.socket().getInputStream(), StandardCharsets.UTF_8));
            System.out.println("mapped " + greeting.readLine().substring("you are ".length()));
            System.out.println("ready");
            while (true)
            {
                try (SocketChannel channel = server.accept(); Socket socket = channel.socket())
                {
                    final InetSocketAddress remote = (InetSocketAddress)socket.getRemoteSocketAddress();
                    socket.getOutputStream().write(("hello " + remote.getAddress().getHostAddress() + ":" + remote.getPort() + "\n")
                        .getBytes(StandardCharsets.UTF_8));
                }
            }
        }
    }

    /** TCP from SRC:PORT to DST:PORT: prints the first line the server sends. */
    static void tcpAsk(final String src, final String srcPort, final String dst, final String dstPort) throws Exception
    {
        try (Socket socket = new Socket())
        {
            socket.setSoTimeout(20_000);
            socket.bind(at(src, srcPort));
            socket.connect(at(dst, dstPort), 20_000);
            System.out.println(new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8)).readLine());
        }
    }
}
