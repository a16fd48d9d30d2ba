package natgw.core.nat.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

import natgw.core.nat.AffinityTable;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Two workers schedule two connections of one client at once and both remember the client's backend
 * (ids 1 and 2). r1: what a lookup finds afterwards; r2: how many slots hold the client (the key is
 * claimed once).
 */
@JCStressTest
@Description("Concurrent remembers of one client: one slot, one of the written backends, never a torn value.")
@Outcome(id = "(1|2), 1", expect = ACCEPTABLE, desc = "one slot, last writer wins")
@Outcome(expect = FORBIDDEN, desc = "a backend nobody wrote, nothing after two writes, or the client in two slots")
@State
public class AffinityRememberRace
{
    private static final int SERVICE = 3;
    private static final int CLIENT = 0x0A010002;
    private static final int NOW_MS = 1000;

    private final AffinityTable table = new AffinityTable(8);

    @Actor
    public void first()
    {
        table.remember(SERVICE, CLIENT, 1, NOW_MS + 60_000);
    }

    @Actor
    public void second()
    {
        table.remember(SERVICE, CLIENT, 2, NOW_MS + 60_000);
    }

    @Arbiter
    public void after(final II_Result r)
    {
        r.r1 = table.lookup(SERVICE, CLIENT, NOW_MS);
        r.r2 = table.slotsHolding(SERVICE, CLIENT);
    }
}
