package natgw.perf.load;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** {@code --name value} arguments of the load generators (they are launched by the harness, not by people). */
final class Args
{
    private final Map<String, String> values = new HashMap<>();

    Args(final String[] args)
    {
        for (int i = 0; i < args.length; i++)
        {
            if (!args[i].startsWith("--") || i + 1 >= args.length)
            {
                throw new IllegalArgumentException("expected --name value pairs, got '" + args[i] + "'");
            }
            values.put(args[i].substring(2), args[++i]);
        }
    }

    String string(final String name)
    {
        final String value = values.get(name);
        if (value == null)
        {
            throw new IllegalArgumentException("missing --" + name);
        }
        return value;
    }

    String string(final String name, final String fallback)
    {
        return values.getOrDefault(name, fallback);
    }

    int integer(final String name, final int fallback)
    {
        return values.containsKey(name) ? Integer.parseInt(values.get(name)) : fallback;
    }

    long longValue(final String name, final long fallback)
    {
        return values.containsKey(name) ? Long.parseLong(values.get(name)) : fallback;
    }

    double decimal(final String name, final double fallback)
    {
        return values.containsKey(name) ? Double.parseDouble(values.get(name)) : fallback;
    }

    List<String> list(final String name)
    {
        final List<String> list = new ArrayList<>();
        for (final String item : string(name).split(","))
        {
            if (!item.isBlank())
            {
                list.add(item.strip());
            }
        }
        return list;
    }
}
