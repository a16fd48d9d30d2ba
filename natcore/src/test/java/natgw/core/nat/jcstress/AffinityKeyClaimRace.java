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
 * Two clients race for the only slot of a one-slot table: exactly one gets it, and each lookup
 * returns that client's own backend or nothing, never the other client's. r1, r2: lookups of client
 * A (backend 1) and client B (backend 2) afterwards.
 */
@JCStressTest
@Description("Two keys, one slot: one claim wins; no client ever reads another client's backend.")
@Outcome(id = "1, -1", expect = ACCEPTABLE, desc = "client A holds the slot")
@Outcome(id = "-1, 2", expect = ACCEPTABLE, desc = "client B holds the slot")
@Outcome(expect = FORBIDDEN, desc = "both, neither, or a client given the other's backend")
@State
public class AffinityKeyClaimRace
{
    private static final int SERVICE = 3;
    private static final int NOW_MS = 1000;

    private final AffinityTable table = new AffinityTable(1);

    @Actor
    public void clientA()
    {
        table.remember(SERVICE, 0x0A010002, 1, NOW_MS + 60_000);
    }

    @Actor
    public void clientB()
    {
        table.remember(SERVICE, 0x0A010003, 2, NOW_MS + 60_000);
    }

    @Arbiter
    public void after(final II_Result r)
    {
        r.r1 = table.lookup(SERVICE, 0x0A010002, NOW_MS);
        r.r2 = table.lookup(SERVICE, 0x0A010003, NOW_MS);
    }
}
