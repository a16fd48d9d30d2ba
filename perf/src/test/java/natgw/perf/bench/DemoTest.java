package natgw.perf.bench;

import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class DemoTest
{
    @Test
    void shouldRunStormThenTimeWaitThenThroughputOnItsOwnLab()
    {
        final List<Bench.Plan> plans = Demo.plans(true, false, null);
        assertEquals(List.of("connect-storm", "time-wait", "throughput"), plans.stream().map(Bench.Plan::scenario).toList());
        assertEquals(List.of("kernel-masq", "kernel-masq-fully-random", "natgw-reserve", "natgw-kernel"),
            plans.get(0).options().impls);
        assertEquals(List.of("kernel-masq", "natgw-reserve"), plans.get(1).options().impls);
        assertEquals(List.of("kernel-masq", "natgw-reserve"), plans.get(2).options().impls);
        for (final Bench.Plan plan : plans)
        {
            assertEquals(Demo.PREFIX, plan.options().prefix);
            assertEquals(false, plan.options().install);
        }
        assertEquals(40 * 50, plans.get(0).options().clients * plans.get(0).options().rounds,
            "2,000 storm connections per implementation");
        assertNull(plans.get(2).options().nulltun);
    }

    @Test
    void shouldLeaveOutNatgwKernelOnRequest()
    {
        assertEquals(List.of("kernel-masq", "kernel-masq-fully-random", "natgw-reserve"),
            Demo.plans(false, true, null).get(0).options().impls);
    }
}
