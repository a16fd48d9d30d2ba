package natgw.perf.bench.behave;

import java.nio.file.Path;
import java.util.List;

import natgw.tun.lab.Lab;

/**
 * What a row's check works with: the agents in the client and server namespaces, the target that is up, and the
 * row's own client addresses and server ports, so that rows run at the same time without touching each other.
 */
final class RowEnv
{
    /** Client addresses each row has to itself. */
    static final int CLIENTS_PER_ROW = 6;
    /** The second server address, beside {@link Lab#SERVER_ADDR}. */
    static final String SERVER_2 = "10.77.2.50";
    static final String SERVER_1 = Lab.SERVER_ADDR;
    private static final int FIRST_PORT = 7000;
    private static final int PORTS_PER_ROW = 20;

    private final Agent client;
    private final Agent server;
    private final Lab lab;
    private final Target target;
    private final Target.Session session;
    private final int index;
    private final Path logDir;

    RowEnv(final Agent client, final Agent server, final Lab lab, final Target target, final Target.Session session,
        final int index, final Path logDir)
    {
        this.client = client;
        this.server = server;
        this.lab = lab;
        this.target = target;
        this.session = session;
        this.index = index;
        this.logDir = logDir;
    }

    Agent client()
    {
        return client;
    }

    Agent server()
    {
        return server;
    }

    Lab lab()
    {
        return lab;
    }

    Target target()
    {
        return target;
    }

    List<ConntrackEntry> connections()
    {
        return session.connections();
    }

    Path logDir()
    {
        return logDir;
    }

    /** The row's i-th client address. */
    String clientAddress(final int i)
    {
        return Lab.clientAddress(index * CLIENTS_PER_ROW + i);
    }

    /** The row's k-th server port. */
    int port(final int k)
    {
        return FIRST_PORT + index * PORTS_PER_ROW + k;
    }

    /** A socket name unique to this row and target. */
    String socket(final String name)
    {
        return target.name() + "-" + index + "-" + name;
    }

    /** Starts the seen servers (UDP and TCP) on ip:port in the server namespace. */
    void serve(final String ip, final int port)
    {
        server.ok("serve " + ip + " " + port, 5_000);
    }

    /** Opens a UDP socket in the client namespace on ip:port (0: any); returns its name. */
    String udpOpen(final String name, final String ip, final int port)
    {
        final String socket = socket(name);
        client.ok("udp-open " + socket + " " + ip + " " + port, 5_000);
        return socket;
    }

    /** The value of {@code key=} in an agent's answer, or "" when absent. */
    static String field(final String answer, final String key)
    {
        for (final String word : answer.split(" "))
        {
            if (word.startsWith(key + "="))
            {
                return word.substring(key.length() + 1);
            }
        }
        return "";
    }
}
