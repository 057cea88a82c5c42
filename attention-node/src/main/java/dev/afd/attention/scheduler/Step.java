package dev.afd.attention.scheduler;

import dev.afd.model.family.CausalLm;
import dev.afd.model.family.Chunk;
import java.util.Arrays;
import java.util.List;

/**
 * One engine step: for each scheduled sequence, the tokens to feed at consecutive positions from {@code start},
 * and whether the step must produce logits for it (its chunk reaches its last known token, so the next token can be
 * sampled); a decoding sequence may feed drafts after its last token, each of which gets a logit row too.
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
     * @param drafts how many of the tokens, at the end, are drafts to verify (speculative decoding): a decode feeds
     *     its last token and then its drafts; 0 for every other entry
     */
    public record Entry(ScheduledSequence sequence, int[] tokens, int start, boolean wantLogits, int drafts) {
        public Entry {
            if (drafts < 0 || drafts >= Math.max(1, tokens.length) || drafts > 0 && !wantLogits) {
                throw new IllegalArgumentException("an entry of " + tokens.length + " tokens"
                        + (wantLogits ? "" : " that wants no logits") + " cannot end with " + drafts + " drafts");
            }
        }

        /** The drafts the entry verifies (a copy). */
        public int[] draftTokens() {
            return Arrays.copyOfRange(tokens, tokens.length - drafts, tokens.length);
        }

        /** The forward pass's view of this entry. */
        public Chunk chunk() {
            return new Chunk(sequence.kv(), tokens, start, logitRows());
        }

        /**
         * How many of the chunk's last rows need logits: all of them while a sequence that wants its prompt rows
         * feeds prompt positions whose next token is a prompt token; else, when it samples, its last token's row and
         * one per draft.
         */
        public int logitRows() {
            if (sequence.wantsPromptRows() && start < sequence.promptLength() - 1) {
                return tokens.length;
            }
            return wantLogits ? 1 + drafts : 0;
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
