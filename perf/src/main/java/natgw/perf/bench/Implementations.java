package natgw.perf.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The implementations a run can compare, by name. */
public final class Implementations
{
    public static final List<String> NATGW_STRATEGIES = List.of("reserve", "kernel", "random", "random-fully");
    /** natgw-kernel as Linux before 4.19: a UDP clash drops the packet instead of adopting the winner. */
    public static final String NATGW_KERNEL_NO_CLASH = "natgw-kernel-no-clash";
    /** natgw-reserve as before issue 13, for comparison: {@code --offload off}. */
    public static final String NATGW_RESERVE_NO_OFFLOAD = "natgw-reserve-no-offload";
    /** natgw-reserve whose idle workers spin 50 us before they sleep in poll(2): the wake-up's cost, measured. */
    public static final String NATGW_RESERVE_BUSY_POLL = "natgw-reserve-busy-poll";
    /** natgw-reserve with {@code --queue-steering flows}: originals spread by their addresses too. */
    public static final String NATGW_RESERVE_FLOWS = "natgw-reserve-flows";
    /** natgw-reserve with {@code --queue-steering ports}, the default before session 22: the steering's effect. */
    public static final String NATGW_RESERVE_PORTS = "natgw-reserve-ports";
    /** natgw-reserve with the kernel's scheduler slice for its workers ({@code --worker-slice-us 0}): the slice's effect. */
    public static final String NATGW_RESERVE_KERNEL_SLICE = "natgw-reserve-kernel-slice";
    /** The TUN ceilings, added whenever nulltun's path is given; both use the same binary. */
    public static final List<String> NULLTUNS = List.of(NullTun.NAME, NullTun.OFFLOAD_NAME);
    /** What {@code all} means for a DNAT scenario: the implementations that can provide a service. */
    public static final List<String> DNAT = List.of("kernel-dnat", "natgw-reserve", "natgw-kernel",
        NATGW_KERNEL_NO_CLASH, "natgw-random", "natgw-random-fully");

    private Implementations()
    {
    }

    /**
     * The implementations of the SNAT scenarios, what {@code all} means there (nulltun and nulltun-offload only when
     * nulltun's path is given).
     */
    public static Map<String, Implementation> all(final Path nulltun)
    {
        final Map<String, Implementation> all = new LinkedHashMap<>();
        add(all, new KernelMasquerade("kernel-masq", ""));
        add(all, new KernelMasquerade("kernel-masq-random", "random"));
        add(all, new KernelMasquerade("kernel-masq-fully-random", "fully-random"));
        add(all, new KernelForward());
        for (final String strategy : NATGW_STRATEGIES)
        {
            add(all, new NatgwGateway(strategy));
        }
        add(all, new NatgwGateway(NATGW_RESERVE_NO_OFFLOAD, "reserve", NatgwGateway.OFFLOAD_OFF));
        if (nulltun != null)
        {
            add(all, new NullTun(nulltun, false));
            add(all, new NullTun(nulltun, true));
        }
        return all;
    }

    /** Every implementation known, SNAT and DNAT ones. */
    static Map<String, Implementation> known(final Path nulltun)
    {
        final Map<String, Implementation> known = all(nulltun);
        add(known, new KernelDnat());
        add(known, new NatgwGateway(NATGW_KERNEL_NO_CLASH, "kernel", List.of("--no-clash-resolution")));
        add(known, new NatgwGateway(NATGW_RESERVE_BUSY_POLL, "reserve", List.of("--busy-poll-us", "50")));
        add(known, new NatgwGateway(NATGW_RESERVE_FLOWS, "reserve", List.of("--queue-steering", "flows")));
        add(known, new NatgwGateway(NATGW_RESERVE_PORTS, "reserve", List.of("--queue-steering", "ports")));
        add(known, new NatgwGateway(NATGW_RESERVE_KERNEL_SLICE, "reserve", List.of("--worker-slice-us", "0")));
        return known;
    }

    private static void add(final Map<String, Implementation> map, final Implementation impl)
    {
        map.put(impl.name(), impl);
    }

    /**
     * Resolves names to implementations: empty means the scenario's defaults, {@code all} means every one; nulltun
     * and nulltun-offload are added whenever nulltun's path is given, so that every TUN-based row has its ceiling in
     * the same offload mode in the same run.
     */
    public static List<Implementation> select(final List<String> names, final List<String> defaults,
        final Path nulltun)
    {
        return select(names, defaults, nulltun, false);
    }

    /**
     * As {@link #select(List, List, Path)}, for a SNAT or a DNAT scenario: in a DNAT scenario {@code all} means
     * {@link #DNAT}, nulltun is not added, and an implementation without DNAT (the VIP would be unreachable) is refused.
     */
    public static List<Implementation> select(final List<String> names, final List<String> defaults,
        final Path nulltun, final boolean dnat)
    {
        final Map<String, Implementation> known = known(nulltun);
        final boolean addNulltun = nulltun != null && !dnat;
        final List<String> wanted = new ArrayList<>();
        if (names.size() == 1 && names.get(0).equals("all"))
        {
            wanted.addAll(dnat ? DNAT : all(nulltun).keySet());
        }
        else
        {
            wanted.addAll(names.isEmpty() ? defaults : names);
            if (addNulltun)
            {
                for (final String name : NULLTUNS)
                {
                    if (!wanted.contains(name))
                    {
                        wanted.add(name);
                    }
                }
            }
        }
        final List<Implementation> selected = new ArrayList<>();
        for (final String name : wanted)
        {
            final Implementation impl = known.get(name);
            if (impl == null)
            {
                throw new IllegalArgumentException("unknown implementation '" + name + "'" +
                    (NULLTUNS.contains(name) ? " (give --nulltun PATH)" : "") + "; known: " +
                    String.join(", ", known.keySet()));
            }
            if (dnat && !DNAT.contains(name))
            {
                throw new IllegalArgumentException("'" + name + "' has no DNAT, so the service VIP is unreachable " +
                    "through it; DNAT implementations: " + String.join(", ", DNAT));
            }
            if (!selected.contains(impl))
            {
                selected.add(impl);
            }
        }
        return selected;
    }
}
