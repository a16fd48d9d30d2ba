package natgw.core.conntrack.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.LLL_Result;

import natgw.core.conntrack.ConntrackTable;

import static natgw.core.conntrack.ConntrackTable.ORIGINAL;
import static natgw.core.conntrack.jcstress.Fixture.*;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Counting across a fold: a connection has counted 511 packets of 100 bytes in its entry's pending
 * count, one short of the fold mark. A worker counts one more, while a second worker reads the packets
 * and bytes, then counts one too and reads the packets again; whichever add reaches the mark folds the
 * pending count into the record's totals, possibly both. r1: the first read (packets/bytes); r2: the
 * packets read after the second worker's own add; r3: the counts once all is done. A read never misses
 * counts that are in flight of a fold, nor sees them twice; no packet is lost or doubled. An add counts its
 * packet and its bytes in one word, so bytes that include the other worker's add mean a later read of the packets
 * includes it too.
 */
@JCStressTest
@Description("Adds that fold the pending count, against reads: every count read is exact at some instant; the totals end exact.")
@Outcome(id = "511/51100, (512|513), 513/51300", expect = ACCEPTABLE,
    desc = "the first read came before the other add, the second before or after it")
@Outcome(id = "(511/51200|512/51200), 513, 513/51300", expect = ACCEPTABLE,
    desc = "the first read's bytes (and maybe packets) came after the other add, so the second saw it too")
@Outcome(id = "(511/51200|512/51200), 512, .*", expect = FORBIDDEN,
    desc = "the second read missed an add the first had seen: a count read is not exact at one instant")
@Outcome(id = ".*, 513/51300", expect = FORBIDDEN, desc = "a read missed or doubled counts in flight of a fold")
@Outcome(expect = FORBIDDEN, desc = "a packet lost or counted twice")
@State
public class CountFoldRace
{
    static final int BYTES = 100;

    final ConntrackTable table = new ConntrackTable(2, 0);
    final int entry;

    public CountFoldRace()
    {
        entry = connect(table, new ConntrackTable.Cursor(), ORIG1_A, ORIG1_B, REPLY1_A, REPLY1_B, EXTRA1);
        for (int i = 0; i < ConntrackTable.FOLD_PACKETS - 1; i++)
        {
            table.account(entry, ORIGINAL, BYTES);
        }
    }

    @Actor
    public void worker()
    {
        table.account(entry, ORIGINAL, BYTES);
    }

    @Actor
    public void readingWorker(final LLL_Result r)
    {
        r.r1 = table.packets(entry, ORIGINAL) + "/" + table.bytes(entry, ORIGINAL);
        table.account(entry, ORIGINAL, BYTES);
        r.r2 = String.valueOf(table.packets(entry, ORIGINAL));
    }

    @Arbiter
    public void counted(final LLL_Result r)
    {
        r.r3 = table.packets(entry, ORIGINAL) + "/" + table.bytes(entry, ORIGINAL);
    }
}
