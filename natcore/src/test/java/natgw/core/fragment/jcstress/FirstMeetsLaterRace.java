package natgw.core.fragment.jcstress;

import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

import natgw.core.fragment.FragmentTable;

import static natgw.core.fragment.jcstress.Trains.TABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * A datagram's first fragment on one worker, its last on another, at once: the last is either translated by its
 * own worker with the first's addresses, or held and released by the first's worker; never lost, never both.
 * r1: fragments the first's worker released; r2: the last's outcome (1 held, 2 translated right, 3 translated wrong,
 * 10 + drop reason id).
 */
@JCStressTest
@Description("First and later fragment of one datagram at once: the later one goes out exactly once, translated.")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "held, released by the first fragment's worker")
@Outcome(id = "0, 2", expect = ACCEPTABLE, desc = "translated by its own worker")
@Outcome(id = {"25, 1", "0, 25", "33, 1", "0, 33", "33, 33", "25, 33", "33, 25", "25, 25"}, expect = ACCEPTABLE_INTERESTING,
    desc = "the other worker was making the train for every attempt (insert_failed), or the group was full of trains " +
        "that wait (fragment_limit; the clock never moves here): one fragment or both dropped, counted")
@Outcome(expect = FORBIDDEN, desc = "lost, sent twice, or translated wrong")
@State
public class FirstMeetsLaterRace
{
    final Trains datagram = new Trains();
    final FragmentTable.Cursor firstCursor = Trains.cursor();
    final FragmentTable.Cursor laterCursor = Trains.cursor();
    final UnsafeBuffer packet = Trains.packet();

    @Actor
    public void first(final II_Result r)
    {
        final int outcome = TABLE.piece(firstCursor, datagram.addresses, datagram.rest, 0, Trains.FIRST_END, false, true, 20, 1000);
        r.r1 = outcome == FragmentTable.SET ? Trains.freeChain(TABLE.ready(firstCursor, Trains.NEW_SRC, Trains.DST)) : 10 + outcome;
    }

    @Actor
    public void later(final II_Result r)
    {
        int outcome = TABLE.piece(laterCursor, datagram.addresses, datagram.rest, Trains.FIRST_END, Trains.LAST_END, true, false, 20,
            1000);
        if (outcome == FragmentTable.HOLD)
        {
            outcome = TABLE.hold(laterCursor, packet, 0, 28, datagram.src, Trains.FIRST_END, Trains.LAST_END, true);
        }
        r.r2 = outcome == FragmentTable.HOLD ? 1 :
            outcome == FragmentTable.TRANSLATE ? (laterCursor.newSrc() == Trains.NEW_SRC ? 2 : 3) : 10 + outcome;
    }
}
