package dev.afd.ffn.core;

import dev.afd.model.ffn.FfnBatch;
import dev.afd.model.ffn.Routing;

/** Batches from the loose arrays the backend tests generate. */
public final class Batches {
    private Batches() {}

    /** A batch of {@code rows} rows of width {@code hidden} with {@code k} slots each. */
    public static FfnBatch of(int hidden, int layer, float[] x, int rows, int[] sharedRows, int k, int[] ids,
            float[] weights) {
        return new FfnBatch(layer, x, hidden, sharedRows, new Routing(rows, k, ids, weights));
    }
}
