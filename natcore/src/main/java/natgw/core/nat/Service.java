package natgw.core.nat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import natgw.core.flow.FlowTuple;
import natgw.core.packet.Ipv4Header;

/**
 * A DNAT service (a virtual address and port, as an IPVS virtual service) in one immutable snapshot:
 * its backends and the lookup structures its scheduler needs, built when the snapshot is made so that
 * {@link #schedule} only reads arrays and bumps a counter.
 */
public final class Service
{
    static final int MAGLEV_SIZE = 65537;
    static final int SH_BUCKETS = 256;

    private final int id;
    private final int protocol;
    private final int vip;
    private final int port;
    private final Scheduler scheduler;
    private final int affinitySeconds;
    private final Backend[] backends;
    private final int[] wrrSequence;
    private final int[] liveBackends;
    private final int[] hashTable;
    private final int totalWeight;
    private final AtomicLong turn;

    Service(
        final int protocol,
        final int vip,
        final int port,
        final Scheduler scheduler,
        final int affinitySeconds,
        final List<Backend> backends,
        final AtomicLong turn)
    {
        this(0, protocol, vip, port, scheduler, affinitySeconds, backends, turn);
    }

    Service(
        final int id,
        final int protocol,
        final int vip,
        final int port,
        final Scheduler scheduler,
        final int affinitySeconds,
        final List<Backend> backends,
        final AtomicLong turn)
    {
        this.id = id;
        this.protocol = protocol;
        this.vip = vip;
        this.port = port;
        this.scheduler = scheduler;
        this.affinitySeconds = affinitySeconds;
        this.backends = backends.toArray(new Backend[0]);
        this.turn = turn;
        int total = 0;
        for (final Backend b : this.backends)
        {
            total += b.weight();
        }
        this.totalWeight = total;
        this.liveBackends = liveIndexes(this.backends);
        this.wrrSequence = scheduler == Scheduler.WRR ? smoothWeightedSequence(this.backends) : null;
        this.hashTable = scheduler == Scheduler.MH ? maglev(this.backends) :
            scheduler == Scheduler.SH ? sourceHashBuckets(this.backends) : null;
    }

    /** Stable for the service's life, unique among the gateway's services (affinity keys use it). */
    public int id()
    {
        return id;
    }

    public int protocol()
    {
        return protocol;
    }

    public int vip()
    {
        return vip;
    }

    public int port()
    {
        return port;
    }

    public Scheduler scheduler()
    {
        return scheduler;
    }

    public int affinitySeconds()
    {
        return affinitySeconds;
    }

    public Backend[] backends()
    {
        return backends;
    }

    AtomicLong turn()
    {
        return turn;
    }

    public String key()
    {
        return keyString(protocol, vip, port);
    }

    static String keyString(final int protocol, final int vip, final int port)
    {
        return (protocol == Ipv4Header.PROTO_TCP ? "tcp" : protocol == Ipv4Header.PROTO_UDP ? "udp" : "proto" + protocol) +
            ":" + FlowTuple.addressToString(vip) + ":" + port;
    }

    /**
     * Picks the backend for a new connection from {@code srcAddress}, or -1 if no backend takes new
     * connections (all draining or none). Allocation-free.
     *
     * @param random a random 31-bit value from the caller (its own generator).
     */
    public int schedule(final int srcAddress, final int random, final BackendCounters counters)
    {
        final Backend[] backends = this.backends;
        if (totalWeight == 0)
        {
            return -1;
        }
        switch (scheduler)
        {
            case RR:
            {
                // turns over the live backends only: skipping a drained one must not hand its turn to its neighbour
                final int[] live = liveBackends;
                return live[(int)(turn.getAndIncrement() % live.length)];
            }
            case WRR:
                return wrrSequence[(int)(turn.getAndIncrement() % wrrSequence.length)];
            case LC:
            case WLC:
            {
                int best = -1;
                long bestLoad = Long.MAX_VALUE;
                final int n = backends.length;
                final int start = random % n;
                for (int i = 0; i < n; i++)
                {
                    final int candidate = (start + i) % n;
                    final Backend b = backends[candidate];
                    if (b.weight() == 0)
                    {
                        continue;
                    }
                    final long live = counters.get(b.id(), BackendCounters.LIVE);
                    // compare live_a / w_a < live_b / w_b without division, as IPVS wlc does
                    final long load = live;
                    if (best < 0 ||
                        (scheduler == Scheduler.LC ? load < bestLoad :
                            load * backends[best].weight() < bestLoad * b.weight()))
                    {
                        best = candidate;
                        bestLoad = load;
                    }
                }
                return best;
            }
            case SH:
                return hashTable[hash(srcAddress) & (SH_BUCKETS - 1)];
            case MH:
                return hashTable[(int)((hash(srcAddress) & 0xFFFF_FFFFL) % MAGLEV_SIZE)];
            default:
            {
                int pick = random % totalWeight;
                for (int i = 0; i < backends.length; i++)
                {
                    pick -= backends[i].weight();
                    if (pick < 0)
                    {
                        return i;
                    }
                }
                return -1;
            }
        }
    }

    private static int[] liveIndexes(final Backend[] backends)
    {
        int n = 0;
        for (final Backend b : backends)
        {
            n += b.weight() > 0 ? 1 : 0;
        }
        final int[] live = new int[n];
        n = 0;
        for (int i = 0; i < backends.length; i++)
        {
            if (backends[i].weight() > 0)
            {
                live[n++] = i;
            }
        }
        return live;
    }

    private static int hash(final int address)
    {
        return FlowTuple.hash(address, 0, 0x5EEDL);
    }

    /** nginx's smooth weighted round robin, unrolled into one cycle of sum(weights) turns. */
    static int[] smoothWeightedSequence(final Backend[] backends)
    {
        int total = 0;
        for (final Backend b : backends)
        {
            total += b.weight();
        }
        if (total == 0)
        {
            return new int[0];
        }
        final int cycle = Math.min(total, 1 << 16);
        final int[] sequence = new int[cycle];
        final long[] current = new long[backends.length];
        for (int t = 0; t < cycle; t++)
        {
            int best = -1;
            for (int i = 0; i < backends.length; i++)
            {
                current[i] += backends[i].weight();
                if (backends[i].weight() > 0 && (best < 0 || current[i] > current[best]))
                {
                    best = i;
                }
            }
            current[best] -= total;
            sequence[t] = best;
        }
        return sequence;
    }

    /** IPVS sh: buckets dealt to live backends in turn, each backend taking {@code weight} buckets per turn. */
    static int[] sourceHashBuckets(final Backend[] backends)
    {
        final int[] buckets = new int[SH_BUCKETS];
        final List<Integer> live = new ArrayList<>();
        for (int i = 0; i < backends.length; i++)
        {
            if (backends[i].weight() > 0)
            {
                live.add(i);
            }
        }
        if (live.isEmpty())
        {
            return buckets;
        }
        int bucket = 0;
        while (bucket < SH_BUCKETS)
        {
            for (final int i : live)
            {
                for (int w = 0; w < backends[i].weight() && bucket < SH_BUCKETS; w++)
                {
                    buckets[bucket++] = i;
                }
            }
        }
        return buckets;
    }

    /** The Maglev lookup table (NSDI 2016, section 3.4), weighted by taking turns in proportion to weight. */
    static int[] maglev(final Backend[] backends)
    {
        final int m = MAGLEV_SIZE;
        final int[] table = new int[m];
        java.util.Arrays.fill(table, -1);
        final int n = backends.length;
        final long[] offset = new long[n];
        final long[] skip = new long[n];
        final long[] next = new long[n];
        int maxWeight = 0;
        for (int i = 0; i < n; i++)
        {
            final long key = FlowTuple.packAddresses(backends[i].address(), backends[i].port());
            offset[i] = (FlowTuple.hash(key, 1, 0xA5A5L) & 0xFFFF_FFFFL) % m;
            skip[i] = (FlowTuple.hash(key, 2, 0x5A5AL) & 0xFFFF_FFFFL) % (m - 1) + 1;
            maxWeight = Math.max(maxWeight, backends[i].weight());
        }
        if (maxWeight == 0)
        {
            return table;
        }
        int filled = 0;
        while (true)
        {
            for (int round = 1; round <= maxWeight; round++)
            {
                for (int i = 0; i < n; i++)
                {
                    if (backends[i].weight() < round)
                    {
                        continue;
                    }
                    long c = (offset[i] + next[i] * skip[i]) % m;
                    while (table[(int)c] >= 0)
                    {
                        next[i]++;
                        c = (offset[i] + next[i] * skip[i]) % m;
                    }
                    table[(int)c] = i;
                    next[i]++;
                    if (++filled == m)
                    {
                        return table;
                    }
                }
            }
        }
    }
}
