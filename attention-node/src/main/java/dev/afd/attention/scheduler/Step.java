package dev.afd.attention.scheduler;

import dev.afd.model.family.CausalLm;
import dev.afd.model.family.Chunk;
import java.util.List;

/**
 * One engine step: for each scheduled sequence, the tokens to feed at consecutive positions from {@code start},
 * and whether the step must produce logits for it (its chunk reaches its last known token, so the next token can be
 * sampled).
 */
public record Step(List<Entry> entries) {
    public Step {
        entries = List.copyOf(entries);
    }

    /**
     * One sequence's share of a step.
     *
     * @param tokens token ids for positions {@code start, start+1, ...}
     * @param wantLogits whether to sample a token after this chunk (a decode, or the last chunk of a prefill)
     */
    public record Entry(ScheduledSequence sequence, int[] tokens, int start, boolean wantLogits) {
        /** The forward pass's view of this entry. */
        public Chunk chunk() {
            return new Chunk(sequence.kv(), tokens, start, wantLogits);
        }
    }

    public boolean isEmpty() {
        return entries.isEmpty();
    }

    /** Tokens fed in this step. */
    public int tokenCount() {
        return entries.stream().mapToInt(e -> e.tokens().length).sum();
    }

    /** The chunks to hand to {@link CausalLm#forward}, in entry order. */
    public List<Chunk> chunks() {
        return entries.stream().map(Entry::chunk).toList();
    }
}
