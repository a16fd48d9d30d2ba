package natgw.perf.bench.behave;

import java.nio.file.Path;
import java.util.List;

import natgw.tun.lab.Lab;

/** What the suite checks: the kernel's NAT or natgw, in the gateway namespace of the lab. */
interface Target
{
    /** The second pool address, for the rows that need two. */
    String SECOND_POOL_ADDR = "10.77.2.101";

    String name();

    /** One line for the report: the configuration, as a command. */
    String describe(Setup setup);

    /** Setups that this target runs the same way, so that their rows share one start: a key per distinct start. */
    String startKey(Setup setup);

    /** The address its translated connections leave from with one pool address. */
    String externalAddress();

    /** Starts the NAT for the setup; throws {@link Refused} when it cannot start with it. */
    Session start(Lab lab, Setup setup, Path logDir) throws Exception;

    /** The NAT while it runs. */
    interface Session extends AutoCloseable
    {
        /** Its connections as {@code conntrack -L} lists them. */
        List<ConntrackEntry> connections();

        @Override
        void close();
    }

    /** The target refused the setup (a flag it does not have, ...): every row of that setup fails with this. */
    final class Refused extends RuntimeException
    {
        Refused(final String message)
        {
            super(message);
        }
    }
}
