package natgw.core.nat;

/** How a service picks a backend for a new connection: IPVS's schedulers, plus random. */
public enum Scheduler
{
    /** Round robin over backends with weight > 0. */
    RR("rr"),
    /** Weighted round robin (smooth interleaving, so a heavy backend's turns are spread out). */
    WRR("wrr"),
    /** Least connections. */
    LC("lc"),
    /** Weighted least connections: fewest connections per unit of weight. */
    WLC("wlc"),
    /** Source hashing: a client address always maps to the same live backend (256 weighted buckets). */
    SH("sh"),
    /** Maglev hashing (Eisenbud et al., NSDI 2016): consistent, minimal disruption when backends change. */
    MH("mh"),
    /** Weighted random. */
    RANDOM("random");

    private final String label;

    Scheduler(final String label)
    {
        this.label = label;
    }

    public String label()
    {
        return label;
    }

    public static Scheduler fromLabel(final String label)
    {
        for (final Scheduler s : values())
        {
            if (s.label.equals(label))
            {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown scheduler '" + label + "'; use rr, wrr, lc, wlc, sh, mh or random");
    }
}
