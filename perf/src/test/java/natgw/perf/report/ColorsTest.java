package natgw.perf.report;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;

import natgw.perf.bench.Implementations;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ColorsTest
{
    @Test
    void shouldGiveEveryKnownImplementationAColourOfItsOwn()
    {
        final List<String> names = new ArrayList<>(Implementations.all(Path.of("nulltun.c")).keySet());
        names.addAll(Implementations.DNAT);
        for (final String name : names)
        {
            assertTrue(Colors.KNOWN.containsKey(name), name + " has a colour of its own");
        }
        assertEquals(Colors.KNOWN.size(), new HashSet<>(Colors.KNOWN.values()).size(), "no two share one");
    }

    @Test
    void shouldGiveAnUnknownImplementationTheSameColourEveryTime()
    {
        assertEquals(Colors.of("natgw-experiment"), Colors.of(new StringBuilder("natgw-").append("experiment")
            .toString()));
        assertTrue(List.of(Colors.OTHERS).contains(Colors.of("natgw-experiment")));
        assertEquals("#d62728", Colors.of("kernel-masq"), "the baseline stays red, as in earlier reports");
    }
}
