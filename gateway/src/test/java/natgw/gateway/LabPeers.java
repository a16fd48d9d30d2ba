package natgw.gateway;

import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;

import com.sun.net.httpserver.HttpServer;

/**
 * Small servers and clients the end-to-end tests start inside lab namespaces, each a separate JVM:
 * {@code java -cp CLASSPATH natgw.gateway.LabPeers ROLE ARGS...}. Servers answer with the source
 * address they saw, which is how the tests check the translation.
 */
public final class LabPeers
{
    public static void main(final String[] args) throws Exception
    {
        switch (args[0])
        {
            case "http-server":
            {
                final HttpServer server = HttpServer.create(new InetSocketAddress(Integer.parseInt(args[1])), 64);
                server.createContext("/", exchange ->
                {
                    final byte[] body = ("you are " + exchange.getRemoteAddress().getAddress().getHostAddress() + "\n")
                        .getBytes(StandardCharsets.UTF_8);
                    exchange.sendResponseHeaders(200, body.length);
                    try (OutputStream out = exchange.getResponseBody())
                    {
                        out.write(body);
                    }
                });
                server.start();
                System.out.println("ready");
                break;
            }
            case "udp-echo":
            {
                try (DatagramSocket socket = new DatagramSocket(Integer.parseInt(args[1])))
                {
                    System.out.println("ready");
                    final byte[] buffer = new byte[2048];
                    while (true)
                    {
                        final DatagramPacket in = new DatagramPacket(buffer, buffer.length);
                        socket.receive(in);
                        final byte[] reply = ("from " + in.getAddress().getHostAddress() + ":" + in.getPort())
                            .getBytes(StandardCharsets.UTF_8);
                        socket.send(new DatagramPacket(reply, reply.length, in.getSocketAddress()));
                    }
                }
            }
            case "udp-mirror":
            {
                // sends each datagram back byte for byte, and tells where it came from
                try (DatagramSocket socket = new DatagramSocket(Integer.parseInt(args[1])))
                {
                    System.out.println("ready");
                    final byte[] buffer = new byte[65536];
                    while (true)
                    {
                        final DatagramPacket in = new DatagramPacket(buffer, buffer.length);
                        socket.receive(in);
                        System.out.println("from " + in.getAddress().getHostAddress() + " " + in.getLength());
                        socket.send(new DatagramPacket(buffer, in.getLength(), in.getSocketAddress()));
                    }
                }
            }
            case "udp-big":
            {
                // one datagram of each size (the sending stack fragments it), each to come back equal; a few tries each
                try (DatagramSocket socket = new DatagramSocket())
                {
                    socket.setSoTimeout(3_000);
                    socket.connect(new InetSocketAddress(args[1], Integer.parseInt(args[2])));
                    final java.util.Random random = new java.util.Random(Integer.parseInt(args[3]));
                    for (int i = 3; i < args.length; i++)
                    {
                        final byte[] ask = new byte[Integer.parseInt(args[i])];
                        random.nextBytes(ask);
                        final DatagramPacket in = new DatagramPacket(new byte[65536], 65536);
                        boolean echoed = false;
                        for (int attempt = 0; attempt < 5 && !echoed; attempt++)
                        {
                            socket.send(new DatagramPacket(ask, ask.length));
                            try
                            {
                                socket.receive(in);
                                echoed = true;
                            }
                            catch (final java.net.SocketTimeoutException ex)
                            {
                                System.out.println("no echo of " + ask.length + " bytes yet");
                            }
                        }
                        final boolean equal = echoed && java.util.Arrays.equals(ask, 0, ask.length, in.getData(), 0, in.getLength());
                        System.out.println((equal ? "echoed " : "lost ") + ask.length);
                    }
                }
                break;
            }
            case "udp-ask":
            {
                try (DatagramSocket socket = new DatagramSocket())
                {
                    socket.setSoTimeout(20_000);
                    socket.connect(new InetSocketAddress(args[1], Integer.parseInt(args[2])));
                    final byte[] ask = "ping".getBytes(StandardCharsets.UTF_8);
                    socket.send(new DatagramPacket(ask, ask.length));
                    final DatagramPacket in = new DatagramPacket(new byte[2048], 2048);
                    socket.receive(in);
                    System.out.println(new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8));
                }
                break;
            }
            case "udp-refused":
            {
                try (DatagramChannel channel = DatagramChannel.open())
                {
                    channel.connect(new InetSocketAddress(args[1], Integer.parseInt(args[2])));
                    channel.write(ByteBuffer.wrap("anyone?".getBytes(StandardCharsets.UTF_8)));
                    channel.socket().setSoTimeout(20_000);
                    try
                    {
                        channel.socket().receive(new DatagramPacket(new byte[64], 64));
                        System.out.println("answered");
                    }
                    catch (final PortUnreachableException ex)
                    {
                        System.out.println("ECONNREFUSED");
                    }
                    catch (final SocketTimeoutException ex)
                    {
                        System.out.println("timeout");
                    }
                }
                break;
            }
            case "odd-flood":
                OddFlood.main(java.util.Arrays.copyOfRange(args, 1, args.length));
                break;
            case "flow-server":
                FlowPeers.server(Integer.parseInt(args[1]));
                break;
            case "flow-client":
                FlowPeers.client(args[1], Integer.parseInt(args[2]));
                break;
            case "udp-echo-at":
                MappingPeers.udpEchoAt(args[1], args[2]);
                break;
            case "udp-probe":
                MappingPeers.udpProbe(args[1], args[2], Integer.parseInt(args[3]), java.util.Arrays.copyOfRange(args, 4, args.length));
                break;
            case "udp-send":
                MappingPeers.udpSend(args[1], args[2], args[3], args[4], Integer.parseInt(args[5]));
                break;
            case "tcp-greet":
                MappingPeers.tcpGreet(args[1], args[2]);
                break;
            case "tcp-listen-mapped":
                MappingPeers.tcpListenMapped(args[1], args[2], args[3], args[4]);
                break;
            case "tcp-ask":
                MappingPeers.tcpAsk(args[1], args[2], args[3], args[4]);
                break;
            case "tcp-close-first":
                TakeOverPeers.closeFirst(args[1], args[2]);
                break;
            case "tcp-loop":
                TakeOverPeers.connectLoop(args[1], args[2], Integer.parseInt(args[3]), java.util.Arrays.copyOfRange(args, 4, args.length));
                break;
            default:
                throw new IllegalArgumentException("unknown role " + args[0]);
        }
    }
}
