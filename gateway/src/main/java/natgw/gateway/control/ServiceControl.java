package natgw.gateway.control;

import java.util.function.IntConsumer;

import natgw.core.conntrack.ConntrackTable;
import natgw.core.conntrack.StatusDescriptor;
import natgw.core.conntrack.TcpState;
import natgw.core.flow.FlowTuple;
import natgw.core.nat.Backend;
import natgw.core.nat.BackendCounters;
import natgw.core.nat.Service;
import natgw.core.nat.Services;

/**
 * The service commands of the control channel: {@code services} lists them as {@code ipvsadm -Ln} does,
 * with per-backend evidence; {@code service add|del|set} change them at runtime.
 */
public final class ServiceControl
{
    /** A backend is flagged when at least this many of its SYNs were reset... */
    static final long FLAG_MIN_RESETS = 3;
    /** ...and its share of reset SYNs is at least this... */
    static final double FLAG_MIN_SHARE = 0.10;
    /** ...and at least this many times the share of the service's other backends. */
    static final double FLAG_RATIO = 3.0;

    private final Services services;
    private final BackendCounters counters;
    private final ConntrackTable table;
    private final IntConsumer vipAdded;

    public ServiceControl(final Services services, final BackendCounters counters, final ConntrackTable table, final IntConsumer vipAdded)
    {
        this.services = services;
        this.counters = counters;
        this.table = table;
        this.vipAdded = vipAdded;
    }

    /** Handles {@code service ...} words; returns the answer text. Throws IllegalArgumentException on bad input. */
    public String handle(final String[] words)
    {
        if (words.length < 3)
        {
            throw new IllegalArgumentException("usage: service add SPEC | service del PROTO:VIP:PORT [BACKEND:PORT] | " +
                "service set PROTO:VIP:PORT BACKEND:PORT weight W");
        }
        switch (words[1])
        {
            case "add":
            {
                final Services.ServiceSpec spec = words[2].contains("=") ?
                    Services.ServiceSpec.parse(words[2]) : Services.ServiceSpec.parseKey(words[2]);
                final boolean newVip = !services.current().isVip(spec.vip);
                services.add(spec);
                if (newVip)
                {
                    vipAdded.accept(spec.vip);
                }
                return "natgw: service " + spec.key() + " now has " + find(spec.key()).backends().length + " backend(s)\n";
            }
            case "del":
            {
                final String key = Services.ServiceSpec.parseKey(words[2]).key();
                if (words.length >= 4)
                {
                    final Services.ServiceSpec.BackendSpec b = Services.ServiceSpec.parseBackend(words[3]);
                    services.removeBackend(key, b.address, b.port);
                    return "natgw: backend " + FlowTuple.addressToString(b.address) + ":" + b.port + " removed from " + key +
                        "; its flows are reset on their next packet\n";
                }
                services.removeService(key);
                return "natgw: service " + key + " removed\n";
            }
            case "set":
            {
                if (words.length != 6 || !words[4].equals("weight"))
                {
                    throw new IllegalArgumentException("usage: service set PROTO:VIP:PORT BACKEND:PORT weight W");
                }
                final String key = Services.ServiceSpec.parseKey(words[2]).key();
                final Services.ServiceSpec.BackendSpec b = Services.ServiceSpec.parseBackend(words[3]);
                final int weight;
                try
                {
                    weight = Integer.parseInt(words[5]);
                }
                catch (final NumberFormatException ex)
                {
                    throw new IllegalArgumentException("weight must be a number 0..65535, got '" + words[5] + "'");
                }
                services.setWeight(key, b.address, b.port, weight);
                return "natgw: " + key + " backend " + FlowTuple.addressToString(b.address) + ":" + b.port + " weight " + weight +
                    (weight == 0 ? " (draining: no new connections)" : "") + "\n";
            }
            default:
                throw new IllegalArgumentException("unknown service command '" + words[1] + "' (add, del, set)");
        }
    }

    private Service find(final String key)
    {
        for (final Service s : services.current().services())
        {
            if (s.key().equals(key))
            {
                return s;
            }
        }
        throw new IllegalStateException("service " + key + " vanished");
    }

    /** {@code ipvsadm -Ln} with natgw's evidence columns. */
    public String list()
    {
        final long[][] conns = connectionsByBackend();
        final StringBuilder out = new StringBuilder();
        out.append("Prot LocalAddress:Port Scheduler Flags\n");
        out.append("  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn    NewConn  SynReset SynUnanswered IcmpErrors\n");
        for (final Service s : services.current().services())
        {
            out.append(String.format("%-4s %s:%d %s%s%n", s.key().substring(0, 3).toUpperCase(),
                FlowTuple.addressToString(s.vip()), s.port(), s.scheduler().label(),
                s.affinitySeconds() > 0 ? " persistent " + s.affinitySeconds() : ""));
            long serviceNew = 0;
            long serviceResets = 0;
            for (final Backend b : s.backends())
            {
                serviceNew += counters.get(b.id(), BackendCounters.NEW);
                serviceResets += counters.get(b.id(), BackendCounters.SYN_RST);
            }
            for (final Backend b : s.backends())
            {
                final long created = counters.get(b.id(), BackendCounters.NEW);
                final long resets = counters.get(b.id(), BackendCounters.SYN_RST);
                out.append(String.format("  -> %-26s %-7s %-6d %-10d %-10d %8d %9d %13d %10d%s%n",
                    b.endpoint(), "Masq", b.weight(), conns[0][b.id()], conns[1][b.id()], created, resets,
                    counters.get(b.id(), BackendCounters.SYN_UNANSWERED), counters.get(b.id(), BackendCounters.ICMP_ERRORS),
                    suspicious(created, resets, serviceNew - created, serviceResets - resets) ?
                        "  << resets " + Math.round(100.0 * resets / Math.max(1, created)) + "% of its SYNs" : ""));
            }
        }
        return out.toString();
    }

    /** True when a backend resets noticeably more of its SYNs than its siblings (incident 3's ghost). */
    static boolean suspicious(final long created, final long resets, final long othersCreated, final long othersResets)
    {
        if (resets < FLAG_MIN_RESETS || created == 0)
        {
            return false;
        }
        final double share = (double)resets / created;
        final double othersShare = othersCreated == 0 ? 0 : (double)othersResets / othersCreated;
        return share >= FLAG_MIN_SHARE && share >= FLAG_RATIO * othersShare;
    }

    /** [0][id] established (IPVS ActiveConn), [1][id] any other state (InActConn), by scanning the table. */
    long[][] connectionsByBackend()
    {
        final long[][] conns = new long[2][BackendCounters.MAX_BACKENDS];
        for (int entry = 0; entry < table.capacity(); entry++)
        {
            final int status = table.status(entry);
            final int backend = table.backend(entry);
            if (StatusDescriptor.phase(status) != StatusDescriptor.PHASE_CONFIRMED || (status & StatusDescriptor.DST_NAT) == 0 ||
                backend < 0 || backend >= BackendCounters.MAX_BACKENDS)
            {
                continue;
            }
            final boolean active = StatusDescriptor.tcpState(status) == TcpState.ESTABLISHED;
            conns[active ? 0 : 1][backend]++;
        }
        return conns;
    }
}
