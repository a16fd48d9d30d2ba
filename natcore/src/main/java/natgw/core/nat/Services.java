package natgw.core.nat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import natgw.core.flow.FlowTuple;
import natgw.core.packet.Ipv4Header;

/**
 * The registry of DNAT services: changed by the control thread (synchronized, never on the packet
 * path), read by workers through {@link #current()}, a snapshot published with a volatile write.
 * Backend ids are stable for a backend's life; a removed backend's id stays marked removed so its
 * remaining flows can be ended.
 */
public final class Services
{
    private volatile ServiceTable current = ServiceTable.EMPTY;
    private final Map<String, Definition> definitions = new LinkedHashMap<>();
    private final Map<String, Integer> backendIds = new HashMap<>();
    private final boolean[] removed = new boolean[BackendCounters.MAX_BACKENDS];
    private final List<Integer> knownVips = new ArrayList<>();
    private int nextBackendId;
    private int nextServiceId;

    private static final class Definition
    {
        final int id;
        final int protocol;
        final int vip;
        final int port;
        Scheduler scheduler;
        int affinitySeconds;
        final List<Backend> backends = new ArrayList<>();
        final AtomicLong turn = new AtomicLong();

        Definition(final int id, final int protocol, final int vip, final int port)
        {
            this.id = id;
            this.protocol = protocol;
            this.vip = vip;
            this.port = port;
        }
    }

    /** The snapshot workers use. */
    public ServiceTable current()
    {
        return current;
    }

    /** Adds a service (or updates its scheduler and affinity) and adds/updates the given backends. */
    public synchronized void add(final ServiceSpec spec)
    {
        final String key = Service.keyString(spec.protocol, spec.vip, spec.port);
        Definition d = definitions.get(key);
        if (d == null)
        {
            if (nextServiceId > 0xFFFF)
            {
                throw new IllegalStateException("too many services over this gateway's life (max 65536)");
            }
            d = new Definition(nextServiceId++, spec.protocol, spec.vip, spec.port);
            definitions.put(key, d);
            if (!knownVips.contains(spec.vip))
            {
                knownVips.add(spec.vip);
            }
        }
        if (spec.scheduler != null)
        {
            d.scheduler = spec.scheduler;
        }
        if (d.scheduler == null)
        {
            d.scheduler = Scheduler.RR;
        }
        if (spec.affinitySeconds >= 0)
        {
            d.affinitySeconds = spec.affinitySeconds;
        }
        for (final ServiceSpec.BackendSpec b : spec.backends)
        {
            setBackend(d, key, b.address, b.port, b.weight, true);
        }
        publish();
    }

    /** Sets a backend's weight (0 = drain). */
    public synchronized void setWeight(final String serviceKey, final int address, final int port, final int weight)
    {
        final Definition d = definition(serviceKey);
        setBackend(d, serviceKey, address, port, weight, false);
        publish();
    }

    /** Removes a backend: no new connections, and its flows are ended on their next packet. */
    public synchronized void removeBackend(final String serviceKey, final int address, final int port)
    {
        final Definition d = definition(serviceKey);
        final int index = indexOf(d, address, port);
        if (index < 0)
        {
            throw new IllegalArgumentException("service " + serviceKey + " has no backend " +
                FlowTuple.addressToString(address) + ":" + port);
        }
        final Backend b = d.backends.remove(index);
        removed[b.id()] = true;
        backendIds.remove(serviceKey + "/" + b.endpoint());
        publish();
    }

    /** Removes a service and all its backends. */
    public synchronized void removeService(final String serviceKey)
    {
        final Definition d = definition(serviceKey);
        for (final Backend b : d.backends)
        {
            removed[b.id()] = true;
            backendIds.remove(serviceKey + "/" + b.endpoint());
        }
        definitions.remove(serviceKey);
        publish();
    }

    private Definition definition(final String serviceKey)
    {
        final Definition d = definitions.get(serviceKey);
        if (d == null)
        {
            throw new IllegalArgumentException("no service " + serviceKey + (definitions.isEmpty() ? "" :
                " (services: " + String.join(", ", definitions.keySet()) + ")"));
        }
        return d;
    }

    private static int indexOf(final Definition d, final int address, final int port)
    {
        for (int i = 0; i < d.backends.size(); i++)
        {
            if (d.backends.get(i).address() == address && d.backends.get(i).port() == port)
            {
                return i;
            }
        }
        return -1;
    }

    private void setBackend(
        final Definition d, final String key, final int address, final int port, final int weight, final boolean create)
    {
        final int index = indexOf(d, address, port);
        if (index >= 0)
        {
            d.backends.set(index, d.backends.get(index).withWeight(weight));
            return;
        }
        if (!create)
        {
            throw new IllegalArgumentException("service " + key + " has no backend " +
                FlowTuple.addressToString(address) + ":" + port);
        }
        if (nextBackendId >= BackendCounters.MAX_BACKENDS)
        {
            throw new IllegalStateException("too many backends over this gateway's life (max " + BackendCounters.MAX_BACKENDS + ")");
        }
        final int id = nextBackendId++;
        backendIds.put(key + "/" + FlowTuple.addressToString(address) + ":" + port, id);
        d.backends.add(new Backend(id, address, port, weight));
    }

    private void publish()
    {
        final List<Service> services = new ArrayList<>();
        for (final Definition d : definitions.values())
        {
            services.add(new Service(d.id, d.protocol, d.vip, d.port, d.scheduler, d.affinitySeconds, d.backends, d.turn));
        }
        current = new ServiceTable(services, knownVips.stream().mapToInt(Integer::intValue).toArray(), removed);
    }

    /** Parsed form of {@code PROTO:VIP:PORT[/SCHED[/AFFINITY_S]]=BACKEND:PORT[@W][,...]}. */
    public static final class ServiceSpec
    {
        public int protocol;
        public int vip;
        public int port;
        public Scheduler scheduler;
        public int affinitySeconds = -1;
        public final List<BackendSpec> backends = new ArrayList<>();

        public static final class BackendSpec
        {
            public int address;
            public int port;
            public int weight = 1;
        }

        public String key()
        {
            return Service.keyString(protocol, vip, port);
        }

        /** Parses a service key {@code PROTO:VIP:PORT} with optional {@code /SCHED[/AFFINITY_S]}. */
        public static ServiceSpec parseKey(final String text)
        {
            final ServiceSpec spec = new ServiceSpec();
            final String[] slash = text.trim().split("/");
            final String[] parts = slash[0].split(":");
            if (parts.length != 3)
            {
                throw new IllegalArgumentException("service must be PROTO:VIP:PORT, got '" + text + "'");
            }
            switch (parts[0].toLowerCase())
            {
                case "tcp": spec.protocol = Ipv4Header.PROTO_TCP; break;
                case "udp": spec.protocol = Ipv4Header.PROTO_UDP; break;
                default: throw new IllegalArgumentException("service protocol must be tcp or udp, got '" + parts[0] + "' in '" + text + "'");
            }
            spec.vip = FlowTuple.parseAddress(parts[1]);
            spec.port = parsePort(parts[2], text);
            if (slash.length > 1)
            {
                spec.scheduler = Scheduler.fromLabel(slash[1]);
            }
            if (slash.length > 2)
            {
                try
                {
                    spec.affinitySeconds = Integer.parseInt(slash[2]);
                }
                catch (final NumberFormatException ex)
                {
                    spec.affinitySeconds = -2;
                }
                if (spec.affinitySeconds < 0 || spec.affinitySeconds > 86400)
                {
                    throw new IllegalArgumentException("affinity must be 0..86400 seconds in '" + text + "'");
                }
            }
            if (slash.length > 3)
            {
                throw new IllegalArgumentException("too many '/' parts in '" + text + "' (PROTO:VIP:PORT[/SCHED[/AFFINITY_S]])");
            }
            return spec;
        }

        /** Parses {@code BACKEND:PORT[@WEIGHT]}. */
        public static BackendSpec parseBackend(final String text)
        {
            final BackendSpec b = new BackendSpec();
            String t = text.trim();
            final int at = t.indexOf('@');
            if (at >= 0)
            {
                try
                {
                    b.weight = Integer.parseInt(t.substring(at + 1));
                }
                catch (final NumberFormatException ex)
                {
                    b.weight = -1;
                }
                if (b.weight < 0 || b.weight > 65535)
                {
                    throw new IllegalArgumentException("backend weight must be 0..65535 in '" + text + "'");
                }
                t = t.substring(0, at);
            }
            final int colon = t.lastIndexOf(':');
            if (colon < 0)
            {
                throw new IllegalArgumentException("backend must be ADDR:PORT[@WEIGHT], got '" + text + "'");
            }
            b.address = FlowTuple.parseAddress(t.substring(0, colon));
            b.port = parsePort(t.substring(colon + 1), text);
            return b;
        }

        /** Parses the whole {@code --service} value. */
        public static ServiceSpec parse(final String text)
        {
            final int eq = text.indexOf('=');
            if (eq < 0)
            {
                throw new IllegalArgumentException("service must be PROTO:VIP:PORT[/SCHED[/AFFINITY_S]]=BACKEND:PORT[@W][,...], got '" + text + "'");
            }
            final ServiceSpec spec = parseKey(text.substring(0, eq));
            for (final String b : text.substring(eq + 1).split(","))
            {
                if (!b.isBlank())
                {
                    spec.backends.add(parseBackend(b));
                }
            }
            return spec;
        }

        private static int parsePort(final String text, final String whole)
        {
            try
            {
                final int port = Integer.parseInt(text.trim());
                if (port >= 1 && port <= 65535)
                {
                    return port;
                }
            }
            catch (final NumberFormatException ignore)
            {
                // below
            }
            throw new IllegalArgumentException("port must be 1..65535, got '" + text + "' in '" + whole + "'");
        }
    }
}
