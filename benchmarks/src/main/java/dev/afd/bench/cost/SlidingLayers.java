package dev.afd.bench.cost;

import java.util.Locale;

/**
 * The sliding-window layers of a model that interleaves them with full-attention ones (Step-3.5): their own
 * attention shape, and a window that bounds both what they cache and what they read, whatever the context.
 *
 * @param layers how many of the model's layers attend through the window (0: none)
 * @param attention their attention, or null when {@code layers} is 0
 * @param window cached tokens a sliding layer keeps and reads
 */
public record SlidingLayers(int layers, AttentionSpec attention, int window) {
    public SlidingLayers {
        if (layers < 0 || (layers > 0 && (attention == null || window <= 0))) {
            throw new CostInputException("sliding-window layers need an attention shape and a positive"
                    + " sliding_window, got " + layers + " layers, window " + window);
        }
    }

    /** A model without sliding-window layers. */
    public static SlidingLayers none() {
        return new SlidingLayers(0, null, 0);
    }

    /** Tokens of a {@code context}-token sequence a sliding layer caches and reads. */
    public long visible(long context) {
        return Math.min(context, window);
    }

    public String shape() {
        return layers == 0 ? "" : String.format(Locale.ROOT, "; %d sliding-window layers (window %d): %s", layers,
                window, attention.shape());
    }
}
