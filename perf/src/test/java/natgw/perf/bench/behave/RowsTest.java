package natgw.perf.bench.behave;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import natgw.tun.lab.Lab;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RowsTest
{
    @Test
    void shouldNameEveryRowOnce()
    {
        final List<String> keys = Rows.all().stream().map(Row::key).toList();
        assertEquals(keys.size(), new HashSet<>(keys).size(), keys.toString());
    }

    @Test
    void shouldFitEveryRowsClientAddressesIntoTheLab()
    {
        assertTrue(Rows.all().size() * RowEnv.CLIENTS_PER_ROW <= Lab.MAX_CLIENTS);
    }

    @Test
    void shouldGiveRowsDisjointServerPorts()
    {
        final Set<Integer> ports = new HashSet<>();
        for (int row = 0; row < Rows.all().size(); row++)
        {
            final RowEnv env = new RowEnv(null, null, null, null, null, row, null);
            for (int k = 0; k < 20; k++)
            {
                assertTrue(ports.add(env.port(k)), "row " + row + " port " + env.port(k));
            }
        }
    }

    @Test
    void shouldJudgeTheUdpTimeoutAgainstTheKernels()
    {
        final Observation thirty = new Observation("30 s", true, new TimerReading(30, 30));
        assertTrue(Rows.sameAsKernel(thirty, new Observation("31 s", true, new TimerReading(31, 31))));
        assertTrue(Rows.sameAsKernel(new Observation("28-31 s", true, new TimerReading(28, 31)), thirty));
        assertFalse(Rows.sameAsKernel(new Observation("120 s", true, new TimerReading(120, 120)), thirty));
        assertFalse(Rows.sameAsKernel(Observation.failed("connection not listed"), thirty));
    }

    @Test
    void shouldReadFieldsOfAnAgentsAnswer()
    {
        assertEquals("10.77.2.100:4135", RowEnv.field("ok seen=10.77.2.100:4135 size=3021", "seen"));
        assertEquals("3021", RowEnv.field("ok seen=10.77.2.100:4135 size=3021", "size"));
        assertEquals("", RowEnv.field("none", "seen"));
    }

    @Test
    void shouldRefuseAnUnknownRowNamingTheKnownOnes()
    {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> BehaveSuite.select(List.of("hairpin")));
        assertTrue(e.getMessage().contains("hairpin-udp"), e.getMessage());
        assertEquals(List.of("fragments"), BehaveSuite.select(List.of("fragments")).stream().map(Row::key).toList());
    }
}
