package dev.afd.model.generate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.model.sampling.SamplingParams;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SequenceDecoderTest {
    private static final int EOS = 0;
    private static final int STOP = 1;
    /** End-of-sequence most likely, then the stop id, then token 2. */
    private static final float[] LOGITS = {5, 4, 3, 0, -1};

    @Test
    void minTokensKeepsEndAndStopIdsFromBeingSampledUntilItIsReached() {
        GenerationRequest request = new GenerationRequest(new int[] {4}, 10, SamplingParams.greedy(), false,
                Set.of(STOP), 3);
        SequenceDecoder decoder = new SequenceDecoder(request, Set.of(EOS), LOGITS.length, 4096);
        for (int i = 0; i < 3; i++) {
            assertThat(decoder.accept(LOGITS).token()).as("token %d", i).isEqualTo(2);
            assertThat(decoder.finished()).isFalse();
        }
        assertThat(decoder.accept(LOGITS).token()).isEqualTo(EOS);
        assertThat(decoder.finishReason()).isEqualTo("stop");
        assertThat(decoder.result().tokenIds()).containsExactly(2, 2, 2, EOS);
    }

    @Test
    void withIgnoreEosOnlyTheStopIdsAreHeldBack() {
        GenerationRequest request = new GenerationRequest(new int[] {4}, 3, SamplingParams.greedy(), true,
                Set.of(STOP), 2);
        SequenceDecoder decoder = new SequenceDecoder(request, Set.of(EOS), LOGITS.length, 4096);
        assertThat(decoder.accept(LOGITS).token()).isEqualTo(EOS);
        assertThat(decoder.accept(new float[] {0, 4, 3, 0, -1}).token()).isEqualTo(2);
        assertThat(decoder.accept(new float[] {0, 4, 3, 0, -1}).token()).isEqualTo(STOP);
        assertThat(decoder.finishReason()).isEqualTo("stop");
    }
}
