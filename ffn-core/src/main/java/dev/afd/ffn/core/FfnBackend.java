package dev.afd.ffn.core;

/**
 * Computes an ffn-node's share of one layer's FFN for the rows of a frame.
 *
 * <p>Threading: any thread may call {@link #compute} and calls may overlap. The CPU backend is stateless apart
 * from read-only weights; the CUDA backend hands every call to its GPU's one CUDA thread and runs them in turn.
 */
public interface FfnBackend {
    /**
     * The weighted partial FFN output of {@code rows} rows: for every row in {@code sharedRows}, the dense MLP
     * (dense layer) or the shared expert (MoE layer); plus {@code expertWeights[r*k+j] · expert(x_r)} for every
     * slot whose id {@code expertIds[r*k+j]} is not negative. Rows with neither get zeros. Per row, the shared or
     * dense part comes first and the routed slots follow in j order, so results are reproducible.
     *
     * @param layer layer index
     * @param x post-attention-normed activations, {@code rows × hidden}
     * @param rows number of rows
     * @param sharedRows distinct row indices below {@code rows}
     * @param k slots per row (0 for a dense layer)
     * @param expertIds {@code rows × k} expert ids; -1 marks a slot that another node serves
     * @param expertWeights {@code rows × k} routing weights
     * @return a new {@code rows × hidden} array
     * @throws IllegalArgumentException for an expert outside {@link #experts()}, a routed slot on a dense layer,
     *     or sizes that do not fit together
     */
    float[] compute(int layer, float[] x, int rows, int[] sharedRows, int k, int[] expertIds, float[] expertWeights);

    /** The routed experts this backend serves. */
    ExpertRange experts();

    /** Backend name for handshakes, health and logs: {@code cpu} or {@code cuda}. */
    String name();
}
