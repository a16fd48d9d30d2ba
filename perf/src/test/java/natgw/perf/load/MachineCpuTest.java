package natgw.perf.load;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MachineCpuTest
{
    /** A 2-CPU guest's /proc/stat (Linux 6.x has ten fields on the cpu line; the last two, guest time, are in user). */
    static final String STAT = """
        cpu  1000 20 300 8000 50 7 73 400 0 0
        cpu0 500 10 150 4000 25 3 37 200 0 0
        cpu1 500 10 150 4000 25 4 36 200 0 0
        intr 123456 0 9
        ctxt 987654
        """;

    @Test
    void shouldCountUserNiceSystemIrqAndSoftirqAsBusyAndStealAsNeither()
    {
        final MachineCpu cpu = MachineCpu.parse(STAT);
        assertEquals(1000 + 20 + 300 + 7 + 73, cpu.busyTicks());
        assertEquals(1400 + 8000 + 50 + 400, cpu.totalTicks());
        assertEquals(2, cpu.cpus());
    }

    @Test
    void shouldTurnTwoSnapshotsIntoBusyCpuSeconds()
    {
        final MachineCpu before = new MachineCpu(1_000, 10_000, 2);
        final MachineCpu after = new MachineCpu(1_150, 10_200, 2); // 150 of 200 ticks busy over 1 s of 2 CPUs
        assertEquals(1.5, after.busyCpuSecondsSince(before, 1.0), 1e-9);
        assertTrue(Double.isNaN(before.busyCpuSecondsSince(before, 1.0)), "no time passed: no share");
    }

    @Test
    void shouldRefuseATextThatIsNotProcStatSayingWhatItGot()
    {
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> MachineCpu.parse("intr 1 2\n"));
        assertTrue(ex.getMessage().contains("intr 1 2"), ex.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MachineCpu.parse("cpu  1 2 3\n"));
    }

    @Test
    void shouldReadThisMachine() throws Exception
    {
        final MachineCpu now = MachineCpu.read();
        assertTrue(now.cpus() >= 1 && now.totalTicks() >= now.busyTicks() && now.busyTicks() > 0, now.toString());
    }
}
