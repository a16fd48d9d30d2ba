package natgw.perf.bench;

import java.util.List;
import java.util.Map;

/**
 * One way of carrying the lab's client traffic through the gateway namespace: the kernel's nftables masquerade
 * with some flags, plain forwarding, natgw with a port strategy, or nulltun. {@link #activate} makes it the
 * path; closing the session puts the gateway namespace back as the lab built it, so implementations alternate
 * within one run on the same topology.
 */
public interface Implementation
{
    /** Short stable name used on the command line and in reports: {@code kernel-masq}, {@code natgw-reserve}. */
    String name();

    /** One line for the report. */
    String description();

    /**
     * The TUN ceiling in this implementation's offload mode, the row a TUN-based implementation is judged against
     * ({@code nulltun} or {@code nulltun-offload}); null for the kernel's paths, which have no TUN.
     */
    default String sameModeTun()
    {
        return null;
    }

    /** System tools this implementation needs (checked, or installed, before the run). */
    default List<String> requiredTools()
    {
        return List.of();
    }

    /** Installs the implementation in the gateway namespace; throws {@link Unavailable} when it cannot run. */
    Session activate(BenchContext context, String segmentName) throws Exception;

    /** The implementation while active. */
    interface Session extends AutoCloseable
    {
        /** Conntrack counters since activation, conntrack -S names; empty when there is no conntrack. */
        Map<String, Long> counters();

        /** Anything worth a line in the report (left-behind state, counters not available, ...). */
        List<String> notes();

        @Override
        void close();
    }

    /**
     * The session of a DNAT implementation: the services of {@link BenchContext#services()} can be changed while
     * traffic runs, as an orchestrator does during a rollout.
     */
    interface ServiceSession extends Session
    {
        /** The backend gets no new connection; its established ones continue. */
        void drain(LabService service, String backend);

        /** The backend is taken out of the service for good. */
        void remove(LabService service, String backend);
    }

    /** This implementation cannot run here (binary missing, command not implemented yet, ...). */
    final class Unavailable extends RuntimeException
    {
        public Unavailable(final String message)
        {
            super(message);
        }
    }
}
