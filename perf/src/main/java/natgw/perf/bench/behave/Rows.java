package natgw.perf.bench.behave;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import natgw.tun.CommandResult;
import natgw.tun.lab.Lab;
import natgw.tun.lab.LabProcess;
import natgw.tun.lab.Role;

import static natgw.perf.bench.behave.RowEnv.SERVER_1;
import static natgw.perf.bench.behave.RowEnv.SERVER_2;
import static natgw.perf.bench.behave.RowEnv.field;

/**
 * The rows of the conformance suite (issue 14's table), each a check with plain sockets and the system's tools in the
 * lab's namespaces. A check only looks at what the peers see (the seen servers' answers, what arrives, tool output)
 * and at the target's connection listing, never at natgw's code paths.
 */
final class Rows
{
    static final String EIM = "endpoint-independent mapping";
    static final String FILTERING = "selectable filtering";
    static final String HAIRPIN = "hairpinning";
    static final String FRAGMENTS = "fragments";
    static final String ONE_HOP = "one hop and the gateway's ICMP";
    static final String POOLING = "paired pooling";
    static final String TIMERS = "timers";
    static final String ICMP_ID = "ICMP id independent of the server";

    private static final long ASK_MS = 3_000;
    private static final long QUIET_MS = 1_500;
    private static final int SYN_SILENCE_MS = 6_000;
    private static final int PING_ID = 4242;
    /** The ICMP payload of A's pings in the id check: told from B's and other rows' pings by their size. */
    private static final int PING_PAYLOAD = 77;

    private Rows()
    {
    }

    static List<Row> all()
    {
        final List<Row> rows = new ArrayList<>();
        for (final String proto : List.of("udp", "tcp"))
        {
            final String upper = proto.toUpperCase(java.util.Locale.ROOT);
            rows.add(new Row("eim-" + proto, upper + ": B's connection to S1:p1 holds external port p, then A " +
                "talks from local port p to S1:p1, S1:p2, S2:p1, S2:p2: one mapping for all 4",
                proto.equals("udp") ? "RFC 4787 REQ-1 (MUST)" : "RFC 5382 REQ-1 (MUST)", "MUST", Setup.DEFAULT,
                List.of(EIM), env -> mappingAfterCollision(env, proto), Row::natgwMeets));
        }
        for (final String proto : List.of("udp", "tcp"))
        {
            rows.add(new Row("no-port-sharing-" + proto, proto.toUpperCase(java.util.Locale.ROOT) + ": 6 internal " +
                "hosts, one local port number, 6 server endpoints: no external ip:port for two internal endpoints",
                "RFC 4787 REQ-3 (MUST not overload ports)", "MUST", Setup.DEFAULT, List.of(EIM),
                env -> portSharing(env, proto), Row::natgwMeets));
        }
        rows.add(new Row("hairpin-udp", "UDP: A sends to B's external mapping: delivered, from A's external mapping",
            "RFC 4787 REQ-9 (MUST), REQ-9b", "MUST", Setup.DEFAULT, List.of(HAIRPIN), Rows::hairpinUdp,
            Row::natgwMeets));
        rows.add(new Row("hairpin-tcp", "TCP: A connects to B's external mapping: accepted, from A's external mapping",
            "RFC 5382 REQ-8 (MUST), RFC 4787 REQ-9b", "MUST", Setup.DEFAULT, List.of(HAIRPIN), Rows::hairpinTcp,
            Row::natgwMeets));
        rows.add(new Row("fragments", "a 3000-byte UDP datagram (fragmented) out and back", "RFC 4787 REQ-14 (MUST)",
            "MUST", Setup.DEFAULT, List.of(FRAGMENTS), Rows::fragments, Row::natgwMeets));
        rows.add(new Row("one-hop", "traceroute and tracepath: the gateway is one hop, TTL 2 reaches the server",
            "traceroute works through a NAT: one hop, its ICMP errors reach the host (RFC 5508)", "SHOULD",
            Setup.DEFAULT, List.of(ONE_HOP), Rows::oneHop, Row::natgwMeets));
        rows.add(new Row("icmp-id", "B pings S1 with id i, then A pings S1 and S2 with id i: " +
            "S1 and S2 see one id",
            "RFC 5508 REQ-1a (SHOULD)", "SHOULD", Setup.DEFAULT, List.of(ICMP_ID), Rows::icmpId, Row::natgwMeets));
        rows.add(new Row("paired-pooling", "2 pool addresses, 2 hosts with 8 UDP flows each to 4 server endpoints: " +
            "one pool address per host", "RFC 4787 REQ-2 (RECOMMENDED); natgw --pooling paired", "MODE", Setup.PAIRED,
            List.of(POOLING), Rows::pairedPooling, Row::natgwMeets));
        rows.add(new Row("udp-timeout", "UDP timeout after one request and its reply", "informs: as the kernel " +
            "(Linux's defaults, documented)", "INFO", Setup.DEFAULT, List.of(TIMERS), Rows::udpTimeout,
            Rows::sameAsKernel));
        rows.add(new Row("syn-silence", "unsolicited TCP SYN to the external address: no answer for 6 s",
            "RFC 5382 REQ-4 (MUST not answer for 6 s)", "MUST", Setup.DEFAULT, List.of(), Rows::synSilence,
            Row::natgwMeets));
        rows.add(new Row("rfc-timers", "--timeouts rfc: TCP after a close, ICMP, UDP after one exchange",
            "RFC 5382 REQ-5 (>= 240 s), RFC 5508 REQ-2 (>= 60 s), RFC 4787 REQ-5 (>= 120 s); natgw --timeouts rfc",
            "MODE", Setup.RFC_TIMERS, List.of(TIMERS), Rows::rfcTimers, Row::natgwMeets));
        rows.add(new Row("filter-endpoint-independent", "after A -> S1:p1, unsolicited UDP from S1:p2 and from S2: " +
            "endpoint-independent filtering delivers both", "RFC 4787 REQ-8; natgw --filtering endpoint-independent",
            "MODE", Setup.FILTER_ENDPOINT_INDEPENDENT, List.of(EIM, FILTERING), env -> filtering(env, true, true),
            Row::natgwMeets));
        rows.add(new Row("filter-address-dependent", "the same: address-dependent filtering delivers S1:p2's only",
            "RFC 4787 REQ-8; natgw --filtering address-dependent", "MODE", Setup.FILTER_ADDRESS_DEPENDENT,
            List.of(EIM, FILTERING), env -> filtering(env, true, false), Row::natgwMeets));
        rows.add(new Row("filter-address-and-port-dependent", "the same: address-and-port-dependent filtering " +
            "(natgw's default) delivers neither", "RFC 4787 REQ-8 (the kernel's, natgw's default)", "MODE", Setup.DEFAULT,
            List.of(), env -> filtering(env, false, false), Row::natgwMeets));
        return rows;
    }

    /** Asks a seen server from an opened UDP socket: the external ip:port it saw, or null. */
    private static String udpSeen(final RowEnv env, final String socket, final String ip, final int port)
    {
        final String answer = env.client().call("udp-ask " + socket + " " + ip + " " + port + " 64 " + ASK_MS, ASK_MS);
        return answer.startsWith("ok") ? field(answer, "seen") : null;
    }

    /** Connects from ip:port to a seen server and keeps the connection: the external ip:port it saw, or null. */
    private static String tcpSeen(final RowEnv env, final String ip, final int port, final String dstIp,
        final int dstPort)
    {
        final String answer = env.client().call("tcp-ask " + ip + " " + port + " " + dstIp + " " + dstPort + " " +
            ASK_MS, ASK_MS);
        return answer.startsWith("ok") ? field(answer, "seen") : null;
    }

    private static String seen(final RowEnv env, final String proto, final String socket, final String ip,
        final int localPort, final String dstIp, final int dstPort)
    {
        return proto.equals("udp") ? udpSeen(env, socket, dstIp, dstPort) : tcpSeen(env, ip, localPort, dstIp, dstPort);
    }

    private static int portOf(final String endpoint)
    {
        return Integer.parseInt(endpoint.substring(endpoint.lastIndexOf(':') + 1));
    }

    /**
     * B's connection to S1:p1 holds external port p; A then talks from local port p to S1:p1 (where p collides with B's
     * tuple), S1:p2, S2:p1 and S2:p2. An endpoint-independent mapping gives A one external ip:port for all four.
     */
    static Observation mappingAfterCollision(final RowEnv env, final String proto)
    {
        final String a = env.clientAddress(0);
        final String b = env.clientAddress(1);
        final List<String[]> servers = List.of(new String[]{SERVER_1, "" + env.port(1)},
            new String[]{SERVER_1, "" + env.port(2)}, new String[]{SERVER_2, "" + env.port(1)},
            new String[]{SERVER_2, "" + env.port(2)});
        for (final String[] s : servers)
        {
            env.serve(s[0], Integer.parseInt(s[1]));
        }
        final String bSocket = proto.equals("udp") ? env.udpOpen("b", b, 0) : null;
        final String bMapping = seen(env, proto, bSocket, b, 0, SERVER_1, env.port(1));
        if (bMapping == null)
        {
            return Observation.failed("B's first packet got no answer");
        }
        final int p = portOf(bMapping);
        final String aSocket = proto.equals("udp") ? env.udpOpen("a", a, p) : null;
        final Set<String> mappings = new LinkedHashSet<>();
        int answered = 0;
        for (final String[] s : servers)
        {
            final String m = seen(env, proto, aSocket, a, p, s[0], Integer.parseInt(s[1]));
            if (m != null)
            {
                mappings.add(m);
                answered++;
            }
        }
        if (answered < servers.size())
        {
            return Observation.failed(answered + " of 4 destinations answered");
        }
        return Observation.of("B holds " + p + "; A from " + p + ": " + (mappings.size() == 1 ?
            "1 mapping " + mappings.iterator().next() : mappings.size() + " mappings " + String.join(" ", mappings)),
            mappings.size() == 1);
    }

    static Observation portSharing(final RowEnv env, final String proto)
    {
        final int localPort = env.port(10);
        final Map<String, Set<String>> internalByExternal = new LinkedHashMap<>();
        int asked = 0;
        for (int i = 0; i < RowEnv.CLIENTS_PER_ROW; i++)
        {
            final String ip = env.clientAddress(i);
            final String server = i % 2 == 0 ? SERVER_1 : SERVER_2;
            final int port = env.port(i / 2);
            env.serve(server, port);
            final String socket = proto.equals("udp") ? env.udpOpen("h" + i, ip, localPort) : null;
            final String m = seen(env, proto, socket, ip, localPort, server, port);
            if (m != null)
            {
                asked++;
                internalByExternal.computeIfAbsent(m, k -> new LinkedHashSet<>()).add(ip + ":" + localPort);
            }
        }
        if (asked < RowEnv.CLIENTS_PER_ROW)
        {
            return Observation.failed(asked + " of " + RowEnv.CLIENTS_PER_ROW + " endpoints got an answer");
        }
        final List<String> shared = new ArrayList<>();
        internalByExternal.forEach((external, internal) ->
        {
            if (internal.size() > 1)
            {
                shared.add(external + " by " + internal.size());
            }
        });
        return Observation.of(shared.isEmpty() ? "6 internal endpoints, 6 external" :
            "shared: " + String.join(", ", shared), shared.isEmpty());
    }

    static Observation hairpinUdp(final RowEnv env)
    {
        env.serve(SERVER_1, env.port(0));
        final String a = env.udpOpen("a", env.clientAddress(0), 0);
        final String b = env.udpOpen("b", env.clientAddress(1), 0);
        final String aMapping = udpSeen(env, a, SERVER_1, env.port(0));
        final String bMapping = udpSeen(env, b, SERVER_1, env.port(0));
        if (aMapping == null || bMapping == null)
        {
            return Observation.failed("no answer from the server");
        }
        String got = "none";
        for (int attempt = 0; attempt < 3 && got.equals("none"); attempt++)
        {
            env.client().ok("udp-send " + a + " " + bMapping.replace(':', ' ') + " 64", 5_000);
            got = env.client().call("udp-recv " + b + " " + QUIET_MS / 2, QUIET_MS / 2);
        }
        return delivered(got.startsWith("ok") ? field(got, "from") : null, aMapping);
    }

    private static Observation delivered(final String from, final String aMapping)
    {
        if (from == null)
        {
            return Observation.failed("not delivered");
        }
        return Observation.of(from.equals(aMapping) ? "delivered, from A's mapping " + from :
            "delivered, from " + from + " (A's mapping is " + aMapping + ")", from.equals(aMapping));
    }

    static Observation hairpinTcp(final RowEnv env)
    {
        env.serve(SERVER_1, env.port(0));
        final String a = env.clientAddress(0);
        final String b = env.clientAddress(1);
        final int aPort = env.port(10);
        final int bPort = env.port(11);
        final String listener = env.socket("listen");
        env.client().ok("tcp-listen " + listener + " " + b + " " + bPort, 5_000);
        final String bMapping = tcpSeen(env, b, bPort, SERVER_1, env.port(0));
        final String aMapping = tcpSeen(env, a, aPort, SERVER_1, env.port(0));
        if (aMapping == null || bMapping == null)
        {
            return Observation.failed("no answer from the server");
        }
        final String connect = env.client().call("tcp-connect " + a + " " + aPort + " " +
            bMapping.replace(':', ' ') + " " + ASK_MS, ASK_MS);
        final String accepted = env.client().call("tcp-accepted " + listener + " " + QUIET_MS, QUIET_MS);
        if (!accepted.startsWith("ok"))
        {
            return Observation.failed("not accepted (connect: " + connect.replace("local=" + aPort, "").strip() + ")");
        }
        return delivered(field(accepted, "from"), aMapping);
    }

    static Observation fragments(final RowEnv env)
    {
        env.serve(SERVER_1, env.port(0));
        final String socket = env.udpOpen("a", env.clientAddress(0), 0);
        final String answer = env.client().call("udp-ask " + socket + " " + SERVER_1 + " " + env.port(0) + " 3000 " +
            ASK_MS, ASK_MS);
        if (!answer.startsWith("ok"))
        {
            return Observation.failed("no answer to 3000 bytes");
        }
        final int size = Integer.parseInt(field(answer, "size"));
        return Observation.of("3000 bytes out, " + size + " back", size >= 3000);
    }

    static Observation oneHop(final RowEnv env)
    {
        final String source = env.clientAddress(0);
        final CommandResult traceroute = env.lab().exec(Role.CLIENT, "timeout", "30", "traceroute", "-n", "-q", "1",
            "-w", "2", "-m", "4", "-s", source, SERVER_1);
        final CommandResult tracepath = env.lab().exec(Role.CLIENT, "timeout", "30", "tracepath", "-n", "-m", "4",
            SERVER_1);
        final List<String> hops = ToolOutput.tracerouteHops(traceroute.stdout());
        final List<String> pathHops = ToolOutput.tracepathHops(tracepath.stdout());
        final int reached = ToolOutput.tracepathReachedHops(tracepath.stdout());
        final List<String> expected = List.of(Lab.GW_INSIDE_ADDR, SERVER_1);
        final boolean met = hops.equals(expected) && pathHops.equals(expected) && reached == 2;
        return Observation.of("traceroute " + String.join(" ", hops) + "; tracepath " +
            (reached > 0 ? reached + " hops" : "not reached") + (pathHops.equals(hops) ? "" : " " +
            String.join(" ", pathHops)), met);
    }

    static Observation icmpId(final RowEnv env) throws InterruptedException
    {
        final int ipLength = 20 + 8 + PING_PAYLOAD;
        try (LabProcess tcpdump = env.lab().start(Role.SERVER, List.of("timeout", "30", "tcpdump", "-i", Lab.SERVER_IF,
            "-n", "-l", "icmp[0] == 8 and ip[2:2] == " + ipLength), env.logDir().resolve(env.socket("tcpdump.txt")),
            null))
        {
            if (!tcpdump.awaitLine(line -> line.contains("listening on"), 20_000))
            {
                return Observation.failed("tcpdump did not start: " + tcpdump.tail(2));
            }
            // B's query to S1 holds the id there, so that A's to S1 collides with it
            final CommandResult holder = env.lab().exec(Role.CLIENT, "ping", "-n", "-c", "1", "-W", "2", "-e",
                "" + PING_ID, "-s", "" + (PING_PAYLOAD + 1), "-I", env.clientAddress(1), SERVER_1);
            if (!holder.ok())
            {
                return Observation.failed("B's ping got no reply");
            }
            final List<String> servers = List.of(SERVER_1, SERVER_2);
            int replies = 0;
            for (final String server : servers)
            {
                final CommandResult ping = env.lab().exec(Role.CLIENT, "ping", "-n", "-c", "1", "-W", "2", "-e",
                    "" + PING_ID, "-s", "" + PING_PAYLOAD, "-I", env.clientAddress(0), server);
                replies += ping.ok() ? 1 : 0;
            }
            tcpdump.awaitLine(line -> ToolOutput.echoRequests(tcpdump.lines()).size() >= servers.size(), 5_000);
            final Map<String, Integer> idByServer = new LinkedHashMap<>();
            for (final ToolOutput.EchoRequest request : ToolOutput.echoRequests(tcpdump.lines()))
            {
                idByServer.putIfAbsent(request.dst(), request.id());
            }
            if (idByServer.size() < servers.size())
            {
                return Observation.failed("the servers saw " + idByServer.size() + " of 2 requests");
            }
            final Set<Integer> ids = new LinkedHashSet<>(idByServer.values());
            return Observation.of("id " + PING_ID + ": S1 sees " + idByServer.get(SERVER_1) + ", S2 sees " +
                idByServer.get(SERVER_2) + (replies == 2 ? "" : " (" + replies + " of 2 replies)"),
                ids.size() == 1 && replies == 2);
        }
    }

    static Observation pairedPooling(final RowEnv env)
    {
        final List<String> notes = new ArrayList<>();
        boolean met = true;
        final Set<String> used = new LinkedHashSet<>();
        for (int host = 0; host < 2; host++)
        {
            final Set<String> addresses = new LinkedHashSet<>();
            for (int flow = 0; flow < 8; flow++)
            {
                final String server = flow % 2 == 0 ? SERVER_1 : SERVER_2;
                final int port = env.port(flow / 2 % 2);
                env.serve(server, port);
                final String socket = env.udpOpen("h" + host + "f" + flow, env.clientAddress(host), 0);
                final String m = udpSeen(env, socket, server, port);
                if (m == null)
                {
                    return Observation.failed("no answer from " + server + ":" + port);
                }
                addresses.add(m.substring(0, m.indexOf(':')));
            }
            used.addAll(addresses);
            met &= addresses.size() == 1;
            notes.add("host " + (host + 1) + ": " + String.join(",", addresses));
        }
        return Observation.of(String.join("; ", notes) + " (" + used.size() + " pool addresses used)", met);
    }

    static Observation udpTimeout(final RowEnv env)
    {
        env.serve(SERVER_1, env.port(0));
        final String a = env.clientAddress(0);
        final String socket = env.udpOpen("a", a, 0);
        final long exchangeStartNs = System.nanoTime();
        if (udpSeen(env, socket, SERVER_1, env.port(0)) == null)
        {
            return Observation.failed("no answer from the server");
        }
        final long exchangeEndNs = System.nanoTime();
        final List<ConntrackEntry> listed = env.connections();
        final long listingEndNs = System.nanoTime();
        final ConntrackEntry entry = ConntrackEntry.find(listed, "udp", a, env.port(0));
        if (entry == null)
        {
            return Observation.failed("connection not listed");
        }
        final TimerReading timer = TimerReading.of(entry.timeoutS(), exchangeStartNs, exchangeEndNs, exchangeEndNs,
            listingEndNs);
        return new Observation(timer + (entry.assured() ? " (ASSURED: a stream)" : " (replied, not a stream)"), true,
            timer);
    }

    /** The kernel's timeout is the documented behaviour this row holds natgw to. */
    static boolean sameAsKernel(final Observation natgw, final Observation kernel)
    {
        return natgw.timer() != null && kernel.timer() != null && natgw.timer().overlaps(kernel.timer(), 1);
    }

    static Observation synSilence(final RowEnv env)
    {
        final String answer = env.server().call("tcp-probe " + env.target().externalAddress() + " " + env.port(0) +
            " " + SYN_SILENCE_MS, SYN_SILENCE_MS);
        if (!answer.startsWith("ok"))
        {
            return Observation.failed(answer);
        }
        final long afterMs = Long.parseLong(field(answer, "after"));
        if (answer.contains("silent"))
        {
            return Observation.of("no answer for " + SYN_SILENCE_MS / 1000 + " s", true);
        }
        final String what = answer.contains("refused") ? "RST" : answer.contains("connected") ? "connected" :
            answer.substring(answer.lastIndexOf(' ') + 1).replace('_', ' ');
        return Observation.of(what + " after " + afterMs + " ms", afterMs >= SYN_SILENCE_MS);
    }

    static Observation rfcTimers(final RowEnv env)
    {
        env.serve(SERVER_1, env.port(0));
        final String tcpHost = env.clientAddress(0);
        final String icmpHost = env.clientAddress(1);
        final String udpHost = env.clientAddress(2);
        final long tcpNs = System.nanoTime();
        final String cycle = env.client().call("tcp-cycle " + tcpHost + " 0 " + SERVER_1 + " " + env.port(0) + " " +
            ASK_MS, ASK_MS);
        final long icmpNs = System.nanoTime();
        final CommandResult ping = env.lab().exec(Role.CLIENT, "ping", "-n", "-c", "1", "-W", "2", "-I", icmpHost,
            SERVER_1);
        final String socket = env.udpOpen("u", udpHost, 0);
        final long udpNs = System.nanoTime();
        final String udp = udpSeen(env, socket, SERVER_1, env.port(0));
        if (!cycle.startsWith("ok") || !ping.ok() || udp == null)
        {
            return Observation.failed("exchange failed: tcp " + cycle + ", ping exit " + ping.exitCode() + ", udp " +
                (udp == null ? "no answer" : "ok"));
        }
        final long listingStartNs = System.nanoTime();
        final List<ConntrackEntry> listed = env.connections();
        final long listingEndNs = System.nanoTime();
        final ConntrackEntry tcp = ConntrackEntry.find(listed, "tcp", tcpHost, env.port(0));
        final ConntrackEntry icmp = ConntrackEntry.find(listed, "icmp", icmpHost, 0);
        final ConntrackEntry udpEntry = ConntrackEntry.find(listed, "udp", udpHost, env.port(0));
        if (tcp == null || icmp == null || udpEntry == null)
        {
            return Observation.failed("not listed:" + (tcp == null ? " TCP" : "") + (icmp == null ? " ICMP" : "") +
                (udpEntry == null ? " UDP" : ""));
        }
        final TimerReading tcpTimer = TimerReading.of(tcp.timeoutS(), tcpNs, icmpNs, listingStartNs, listingEndNs);
        final TimerReading icmpTimer = TimerReading.of(icmp.timeoutS(), icmpNs, udpNs, listingStartNs, listingEndNs);
        final TimerReading udpTimer = TimerReading.of(udpEntry.timeoutS(), udpNs, listingStartNs, listingStartNs,
            listingEndNs);
        return Observation.of("TCP " + tcp.state() + " " + tcpTimer + ", ICMP " + icmpTimer + ", UDP " + udpTimer,
            tcpTimer.mayReach(240) && icmpTimer.mayReach(60) && udpTimer.mayReach(120));
    }

    static Observation filtering(final RowEnv env, final boolean otherPort, final boolean otherAddress)
    {
        env.serve(SERVER_1, env.port(0));
        final String socket = env.udpOpen("a", env.clientAddress(0), 0);
        final String mapping = udpSeen(env, socket, SERVER_1, env.port(0));
        if (mapping == null)
        {
            return Observation.failed("no answer from the server");
        }
        final String fromOtherPort = SERVER_1 + ":" + env.port(1);
        final String fromOtherAddress = SERVER_2 + ":" + env.port(0);
        for (final String from : List.of(fromOtherPort, fromOtherAddress))
        {
            env.server().ok("udp-send-from " + from.replace(':', ' ') + " " + mapping.replace(':', ' '), 5_000);
        }
        final Set<String> arrived = new LinkedHashSet<>();
        String got;
        while ((got = env.client().call("udp-recv " + socket + " " + QUIET_MS, QUIET_MS)).startsWith("ok"))
        {
            arrived.add(field(got, "from"));
        }
        final boolean portDelivered = arrived.contains(fromOtherPort);
        final boolean addressDelivered = arrived.contains(fromOtherAddress);
        final boolean met = portDelivered == otherPort && addressDelivered == otherAddress;
        return Observation.of("S1 other port: " + (portDelivered ? "delivered" : "dropped") + "; S2: " +
            (addressDelivered ? "delivered" : "dropped"), met);
    }
}
