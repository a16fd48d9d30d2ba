package natgw.core.pipeline;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Coverage-guided fuzzing of the pipeline's entry points ({@link PipelineFuzzer} says what and with which oracles).
 * Without JAZZER_FUZZ it replays the inputs under src/test/resources/natgw/core/pipeline/PipelineFuzzTestInputs as
 * a regression test; with JAZZER_FUZZ=1 and one method selected, Jazzer fuzzes it for its maxDuration. The build
 * fuzzes {@link #shouldHoldEveryInvariantForAnyPacket} briefly (natcore's surefire execution "fuzz"); the long run
 * is by hand, see docs/TESTING.md.
 */
class PipelineFuzzTest
{
    private static final PipelineFuzzer FUZZER = new PipelineFuzzer();

    @FuzzTest(maxDuration = "25s")
    void shouldHoldEveryInvariantForAnyPacket(final FuzzedDataProvider data)
    {
        FUZZER.run(data);
    }

    @FuzzTest(maxDuration = "10m")
    void shouldHoldEveryInvariantForAnyPacketLongRun(final FuzzedDataProvider data)
    {
        FUZZER.run(data);
    }
}
