package natgw.core.fragment.jcstress;

import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

import natgw.core.fragment.FragmentTable;
import natgw.core.packet.DropReason;

import static natgw.core.fragment.jcstress.Trains.TABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Two later fragments of one datagram on two workers at once, before its first: both make its train, one wins and
 * both wait on it (the loser of the making backs off and finds the winner's); then the first fragment releases both.
 * r1, r2: the workers' outcomes (1 held, 10 + drop reason id); r3: fragments the first released.
 */
@JCStressTest
@Description("Two workers make one datagram's train at once: one train, both fragments held on it, both released.")
@Outcome(id = "1, 1, 2", expect = ACCEPTABLE, desc = "one train, both held and released")
@Outcome(id = {"1, 25, 1", "25, 1, 1"}, expect = ACCEPTABLE_INTERESTING, desc = "both backed off every attempt: one dropped (insert_failed)")
@Outcome(id = {"1, 33, 1", "33, 1, 1", "33, 33, 0"}, expect = ACCEPTABLE_INTERESTING,
    desc = "the group was full of trains that wait (the clock never moves here): dropped (fragment_limit)")
@Outcome(id = "33, 33, 33", expect = ACCEPTABLE_INTERESTING,
    desc = "the group was still full when the first came (other states' firsts come later): all three dropped (fragment_limit)")
@Outcome(expect = FORBIDDEN, desc = "two trains, or a fragment lost")
@State
public class SameTrainRace
{
    final Trains datagram = new Trains();
    final FragmentTable.Cursor cursorA = Trains.cursor();
    final FragmentTable.Cursor cursorB = Trains.cursor();
    final UnsafeBuffer packetA = Trains.packet();
    final UnsafeBuffer packetB = Trains.packet();

    static
    {
        if (10 + DropReason.INSERT_FAILED.id() != 25)
        {
            throw new IllegalStateException("the outcome ids above name insert_failed as 25");
        }
    }

    @Actor
    public void middle(final III_Result r)
    {
        r.r1 = hold(cursorA, packetA, Trains.FIRST_END, 1800, false);
    }

    @Actor
    public void last(final III_Result r)
    {
        r.r2 = hold(cursorB, packetB, 1800, Trains.LAST_END, true);
    }

    @Arbiter
    public void first(final III_Result r)
    {
        final FragmentTable.Cursor cursor = Trains.cursor();
        final int outcome = TABLE.piece(cursor, datagram.addresses, datagram.rest, 0, Trains.FIRST_END, false, true, 20, 1000);
        r.r3 = outcome == FragmentTable.SET ? Trains.freeChain(TABLE.ready(cursor, Trains.NEW_SRC, Trains.DST)) : 10 + outcome;
    }

    private int hold(final FragmentTable.Cursor cursor, final UnsafeBuffer packet, final int start, final int end, final boolean last)
    {
        int outcome = TABLE.piece(cursor, datagram.addresses, datagram.rest, start, end, last, false, 20, 1000);
        if (outcome == FragmentTable.HOLD)
        {
            outcome = TABLE.hold(cursor, packet, 0, 28, datagram.src, start, end, last);
        }
        return outcome == FragmentTable.HOLD ? 1 : 10 + outcome;
    }
}
