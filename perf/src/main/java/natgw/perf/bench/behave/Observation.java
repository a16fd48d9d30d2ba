package natgw.perf.bench.behave;

/**
 * What one target did in one row.
 *
 * @param text  the answer, for the table ("4 destinations, 1 mapping").
 * @param met   whether it meets the row's requirement, or its claimed mode.
 * @param value the row's number where it has one (a timeout in seconds), else -1.
 */
record Observation(String text, boolean met, long value)
{
    static Observation of(final String text, final boolean met)
    {
        return new Observation(text, met, -1);
    }

    static Observation failed(final String why)
    {
        return new Observation(why, false, -1);
    }
}
