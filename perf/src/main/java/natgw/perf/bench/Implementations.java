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

    private Implementations()
    {
    }

    /** Every implementation available with these options (nulltun only when its path is given). */
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
        if (nulltun != null)
        {
            add(all, new NullTun(nulltun));
        }
        return all;
    }

    private static void add(final Map<String, Implementation> map, final Implementation impl)
    {
        map.put(impl.name(), impl);
    }

    /**
     * Resolves names to implementations: empty means the scenario's defaults, {@code all} means every one; nulltun
     * is added whenever its path is given.
     */
    public static List<Implementation> select(final List<String> names, final List<String> defaults,
        final Path nulltun)
    {
        final Map<String, Implementation> all = all(nulltun);
        final List<String> wanted = new ArrayList<>();
        if (names.isEmpty())
        {
            wanted.addAll(defaults);
            if (nulltun != null)
            {
                wanted.add("nulltun");
            }
        }
        else if (names.size() == 1 && names.get(0).equals("all"))
        {
            wanted.addAll(all.keySet());
        }
        else
        {
            wanted.addAll(names);
            if (nulltun != null && !wanted.contains("nulltun"))
            {
                wanted.add("nulltun");
            }
        }
        final List<Implementation> selected = new ArrayList<>();
        for (final String name : wanted)
        {
            final Implementation impl = all.get(name);
            if (impl == null)
            {
                throw new IllegalArgumentException("unknown implementation '" + name + "'" +
                    (name.equals("nulltun") ? " (give --nulltun PATH)" : "") + "; known: " +
                    String.join(", ", all.keySet()));
            }
            if (!selected.contains(impl))
            {
                selected.add(impl);
            }
        }
        return selected;
    }
}
