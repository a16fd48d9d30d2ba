package natgw.perf.bench.behave;

/**
 * What one target did in one row.
 *
 * @param text  the answer, for the table ("4 destinations, 1 mapping").
 * @param met   whether it meets the row's requirement, or its claimed mode.
 * @param timer the row's timeout reading where it has one, else null.
 */
record Observation(String text, boolean met, TimerReading timer)
{
    static Observation of(final String text, final boolean met)
    {
        return new Observation(text, met, null);
    }

    static Observation failed(final String why)
    {
        return new Observation(why, false, null);
    }
}
