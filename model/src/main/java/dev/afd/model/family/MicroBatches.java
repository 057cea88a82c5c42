package dev.afd.model.family;

import java.util.ArrayList;
import java.util.List;
import java.util.function.ToIntFunction;

/** Splits a step's sequences into micro-batches for the per-layer ping-pong pipeline. */
public final class MicroBatches {
    private MicroBatches() {}

    /**
     * Splits {@code items} into at most {@code m} contiguous, non-empty groups of roughly equal token counts; an item
     * is never split. Each item goes to the group its token midpoint falls in, so one very long item can leave fewer
     * than {@code m} groups.
     */
    public static <T> List<List<T>> split(List<T> items, ToIntFunction<T> tokens, int m) {
        if (m < 1) {
            throw new IllegalArgumentException("a step splits into at least one micro-batch, got " + m);
        }
        long total = 0;
        for (T item : items) {
            total += tokens.applyAsInt(item);
        }
        List<List<T>> groups = new ArrayList<>();
        int currentGroup = -1;
        long before = 0;
        for (T item : items) {
            int length = tokens.applyAsInt(item);
            // Twice the midpoint, so the arithmetic stays in integers.
            int group = (int) Math.min(m - 1, (2 * before + length) * m / (2 * total));
            if (group != currentGroup) {
                groups.add(new ArrayList<>());
                currentGroup = group;
            }
            groups.getLast().add(item);
            before += length;
        }
        return groups.stream().map(List::copyOf).toList();
    }
}
