package natgw.perf.bench.behave;

import java.util.List;

/**
 * One check of the suite.
 *
 * @param key         stable name (JSON, tests): {@code eim-udp}.
 * @param check       what is done, for the table.
 * @param requirement the RFC requirement and its level, or the claimed mode.
 * @param level       MUST, SHOULD, MODE (natgw claims the behaviour as a mode) or INFO (a choice to document).
 * @param setup       how the gateway runs for it.
 * @param features    the natgw features it needs (the work items), for the reader of a FAIL.
 * @param probe       the check itself, run once per target.
 * @param judge       natgw's verdict given both targets' observations.
 */
record Row(String key, String check, String requirement, String level, Setup setup, List<String> features,
    Probe probe, Judge judge)
{
    /** Runs the check against the target that is up. */
    @FunctionalInterface
    interface Probe
    {
        Observation run(RowEnv env) throws Exception;
    }

    /** PASS or FAIL for natgw. */
    @FunctionalInterface
    interface Judge
    {
        boolean pass(Observation natgw, Observation kernel);
    }

    /** natgw passes when it meets the requirement itself, whatever the kernel did. */
    static boolean natgwMeets(final Observation natgw, final Observation kernel)
    {
        return natgw.met();
    }
}
