package dev.afd.model.kv;

import dev.afd.model.kernels.KvView;

/**
 * A sequence's KV storage as the forward pass sees it: rows written per layer and position, read back per layer as
 * blocks. Implementations: {@link SequenceKvCache} (one sequence, its own memory) and the attention node's paged cache
 * (blocks from a shared pool).
 *
 * <p>Threading: the engine thread writes between steps; kernels read during a step.
 */
public interface SequenceKv {
    /**
     * The cached keys and values of {@code layer}: a cache slot, one K/V head of one model layer
     * ({@link dev.afd.model.family.KvLayout}; for a model with one K/V head per layer, the layer itself).
     */
    KvView layer(int layer);

    /**
     * Stores key and value rows ({@code headDim} floats each) of position {@code pos}. Storage for the position must
     * exist: a paged cache allocates blocks before the step that writes them.
     */
    void write(int layer, int pos, float[] k, int kOff, float[] v, int vOff);
}
