package dev.afd.wire;

import dev.afd.model.sampling.SamplingParams;
import dev.afd.proto.SamplingOptions;

/**
 * {@link SamplingParams} on the wire: the one mapping the gateway (sending) and the attention node (receiving) share,
 * so a parameter added to one side cannot be forgotten on the other.
 */
public final class SamplingWire {
    private SamplingWire() {}

    public static SamplingOptions toProto(SamplingParams p) {
        SamplingOptions.Builder b = SamplingOptions.newBuilder()
                .setTemperature(p.temperature())
                .setTopK(p.topK())
                .setTopP(p.topP())
                .setMinP(p.minP())
                .setPresencePenalty(p.presencePenalty())
                .setFrequencyPenalty(p.frequencyPenalty())
                .setRepetitionPenalty(p.repetitionPenalty())
                .setTopLogprobs(p.topLogprobs());
        if (p.seed() != null) {
            b.setSeed(p.seed());
        }
        return b.build();
    }

    /**
     * @throws SamplingParams.InvalidSamplingException naming the offending field when a value is out of range
     */
    public static SamplingParams fromProto(SamplingOptions s) {
        // Unset proto3 numbers (also those of an unset message) read as 0: map them to the neutral values (top_p 1,
        // repetition 1).
        return new SamplingParams(s.getTemperature(), s.getTopK(), s.getTopP() != 0 ? s.getTopP() : 1, s.getMinP(),
                s.hasSeed() ? s.getSeed() : null, s.getPresencePenalty(), s.getFrequencyPenalty(),
                s.getRepetitionPenalty() != 0 ? s.getRepetitionPenalty() : 1, s.getTopLogprobs());
    }
}
