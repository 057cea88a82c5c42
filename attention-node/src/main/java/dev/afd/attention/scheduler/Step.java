package dev.afd.attention.scheduler;

import dev.afd.model.step3.Step3Model;
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
        public Step3Model.Chunk chunk() {
            return new Step3Model.Chunk(sequence.kv(), tokens, start, logitRows());
        }

        /**
         * How many of the chunk's last rows need logits: all of them while a sequence that wants its prompt rows
         * feeds prompt positions whose next token is a prompt token; else its last row when it samples.
         */
        public int logitRows() {
            if (sequence.wantsPromptRows() && start < sequence.promptLength() - 1) {
                return tokens.length;
            }
            return wantLogits ? 1 : 0;
        }
    }

    public boolean isEmpty() {
        return entries.isEmpty();
    }

    /** Tokens fed in this step. */
    public int tokenCount() {
        return entries.stream().mapToInt(e -> e.tokens().length).sum();
    }

    /** The chunks to hand to {@link Step3Model#forward}, in entry order. */
    public List<Step3Model.Chunk> chunks() {
        return entries.stream().map(Entry::chunk).toList();
    }
}
