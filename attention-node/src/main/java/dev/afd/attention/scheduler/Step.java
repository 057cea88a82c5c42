package dev.afd.attention.scheduler;

import dev.afd.model.step3.Step3Model;
import java.util.ArrayList;
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
            return new Step3Model.Chunk(sequence.kv(), tokens, start, wantLogits);
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

    /**
     * Splits the entries into at most {@code m} contiguous, non-empty groups of roughly equal token counts, for
     * micro-batching; an entry is never split. Each entry goes to the group its token midpoint falls in, so a very
     * long chunk can leave fewer than {@code m} groups.
     */
    public List<List<Entry>> split(int m) {
        if (m < 1) {
            throw new IllegalArgumentException("a step splits into at least one group, got " + m);
        }
        long total = tokenCount();
        List<List<Entry>> groups = new ArrayList<>();
        int currentGroup = -1;
        long before = 0;
        for (Entry e : entries) {
            int length = e.tokens().length;
            // Twice the midpoint, so the arithmetic stays in integers.
            int group = (int) Math.min(m - 1, (2 * before + length) * m / (2 * total));
            if (group != currentGroup) {
                groups.add(new ArrayList<>());
                currentGroup = group;
            }
            groups.getLast().add(e);
            before += length;
        }
        return groups.stream().map(List::copyOf).toList();
    }
}
