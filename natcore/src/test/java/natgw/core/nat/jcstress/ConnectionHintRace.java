package natgw.core.nat.jcstress;

import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

import natgw.core.flow.FlowTuple;
import natgw.core.flow.QueueSteering;
import natgw.core.nat.ConnectionQueueHints;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Two workers make connections whose reply tuples share a hint slot (different tags): worker 1 steers tuple A to
 * queue 1, worker 2 tuple B to queue 2 and then, as the steering program would for a packet of A, picks A's queue
 * ({@link ConnectionQueueHints#queue}, the program's Java twin; A's flow hash gives queue 0); the arbiter picks it
 * again once both are done. Each sees A's hint (1) or no hint of A's (0: none yet, or B's, whose tag is not A's),
 * never B's queue or a queue nobody wrote under A's tag: a hint is one 16-bit word, written and read whole.
 */
@JCStressTest
@Description("A packet's queue while two workers write hints into its slot: its own hint or its flow's queue.")
@Outcome(id = {"0, 0", "0, 1", "1, 0", "1, 1"}, expect = ACCEPTABLE, desc = "A's hint or A's flow hash, during and after")
@Outcome(expect = FORBIDDEN, desc = "another worker's queue, or a queue nobody wrote, under A's tag: a torn hint")
@State
public class ConnectionHintRace
{
    private static final int QUEUES = 4;
    private static final long ADDRESSES = FlowTuple.packAddresses(FlowTuple.parseAddress("203.0.113.9"),
        FlowTuple.parseAddress("198.51.100.1"));
    private static final long A;
    private static final long B;

    static
    {
        long a = -1;
        long b = -1;
        for (int natPort = 1024; natPort < 65536 && b == -1; natPort++)
        {
            final long candidate = FlowTuple.packPorts(6, 443, natPort);
            if (QueueSteering.flowHash(ADDRESSES, candidate) % QUEUES != 0)
            {
                continue;
            }
            a = candidate;
            b = partner(candidate);
        }
        A = a;
        B = b;
    }

    private final ConnectionQueueHints hints = new ConnectionQueueHints(new UnsafeBuffer(new byte[ConnectionQueueHints.BYTES]), QUEUES);

    /** A tuple in {@code ports}' slot with another tag, or -1. */
    private static long partner(final long ports)
    {
        final int slot = QueueSteering.flowHash(ADDRESSES, ports);
        final int tag = QueueSteering.flowProduct(ADDRESSES, ports) >>> 8 & 0xFF;
        for (int serverPort = 1; serverPort < 65536; serverPort++)
        {
            for (int natPort = 1024; natPort < 65536; natPort += 251)
            {
                final long candidate = FlowTuple.packPorts(6, serverPort, natPort);
                if (QueueSteering.flowHash(ADDRESSES, candidate) == slot &&
                    (QueueSteering.flowProduct(ADDRESSES, candidate) >>> 8 & 0xFF) != tag)
                {
                    return candidate;
                }
            }
        }
        return -1;
    }

    @Actor
    public void worker1()
    {
        hints.record(ADDRESSES, A, 1);
    }

    @Actor
    public void worker2(final II_Result r)
    {
        hints.record(ADDRESSES, B, 2);
        r.r1 = hints.queue(ADDRESSES, A);
    }

    @Arbiter
    public void after(final II_Result r)
    {
        r.r2 = hints.queue(ADDRESSES, A);
    }
}
