package dev.afd.wire;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.model.sampling.SamplingParams;
import dev.afd.proto.SamplingOptions;
import org.junit.jupiter.api.Test;

class SamplingWireTest {
    @Test
    void everyParameterSurvivesTheRoundTrip() {
        SamplingParams p = new SamplingParams(0.7, 40, 0.9, 0.05, 1234L, 0.5, -0.25, 1.1, 5);
        assertThat(SamplingWire.fromProto(SamplingWire.toProto(p))).isEqualTo(p);
        SamplingParams unseeded = p.withSeed(null);
        assertThat(SamplingWire.toProto(unseeded).hasSeed()).isFalse();
        assertThat(SamplingWire.fromProto(SamplingWire.toProto(unseeded))).isEqualTo(unseeded);
    }

    @Test
    void unsetOptionsMeanGreedyWithNothingFiltered() {
        assertThat(SamplingWire.fromProto(SamplingOptions.getDefaultInstance())).isEqualTo(SamplingParams.greedy());
    }
}
