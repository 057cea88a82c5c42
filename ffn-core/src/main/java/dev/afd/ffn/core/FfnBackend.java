package dev.afd.ffn.core;

import dev.afd.model.ffn.FfnBatch;
import java.util.Optional;

/**
 * Computes an ffn-node's share of one layer's FFN for the rows of a frame.
 *
 * <p>Threading: any thread may call {@link #compute} and calls may overlap. The CPU backend is stateless apart
 * from read-only weights; the CUDA backend hands every call to its GPU's one CUDA thread and runs them in turn.
 */
public interface FfnBackend {
    /**
     * The weighted partial FFN output of the batch's rows, as {@link FfnBatch} defines it: per row, the shared or
     * dense part first, then the routed slots in slot order, so results are reproducible. Rows with neither get
     * zeros.
     *
     * @return a new {@code rows × hidden} array
     * @throws IllegalArgumentException for a layer the model lacks, a width other than the model's, an expert
     *     outside {@link #experts()}, or a routed slot on a dense layer ({@link FfnArguments#check})
     */
    float[] compute(FfnBatch batch);

    /** The routed experts this backend serves. */
    ExpertSet experts();

    /** Backend name for handshakes, health and logs: {@code cpu} or {@code cuda}. */
    String name();

    /**
     * Why this backend can compute nothing more (e.g. the CUDA backend after a sticky GPU error), or empty while it
     * is healthy. A failed backend fails every {@link #compute}; its node should stop reporting that it serves.
     */
    default Optional<String> failure() {
        return Optional.empty();
    }
}
