package natgw.core.nat.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.I_Result;

import natgw.core.nat.AffinityTable;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * A worker remembers a client's backend (id 5) while another looks the client up: the reader sees
 * nothing yet or backend 5, never a key without its value taken as a backend (the slot's key is
 * claimed before its value is written).
 */
@JCStressTest
@Description("A lookup racing the first remember of a client sees nothing or the whole value.")
@Outcome(id = "-1", expect = ACCEPTABLE, desc = "not remembered yet")
@Outcome(id = "5", expect = ACCEPTABLE, desc = "the remembered backend")
@Outcome(expect = FORBIDDEN, desc = "a backend nobody remembered")
@State
public class AffinityReadRace
{
    private static final int SERVICE = 3;
    private static final int CLIENT = 0x0A010002;
    private static final int NOW_MS = 0;

    private final AffinityTable table = new AffinityTable(8);

    @Actor
    public void writer()
    {
        table.remember(SERVICE, CLIENT, 5, NOW_MS + 60_000);
    }

    @Actor
    public void reader(final I_Result r)
    {
        r.r1 = table.lookup(SERVICE, CLIENT, NOW_MS);
    }
}
