package dev.afd.model.ffn;

import dev.afd.model.kernels.Mlp;
import dev.afd.model.kernels.MlpWeights;
import dev.afd.model.kernels.MoeDispatch;

/**
 * One layer's FFN on the CPU kernels, written once for the engine's in-place path ({@link LocalFfn}) and the
 * ffn-node's CPU backend, so both compute the same bits: per row, the shared expert or dense MLP first (for the
 * shared rows), then the routed slots in slot order.
 *
 * <p>Threading: stateless; the weights must stay mapped while a call runs.
 */
public final class CpuFfn {
    private CpuFfn() {}

    /**
     * The batch's FFN output, a new {@code rows × hidden} array; rows with neither shared work nor a routed slot get
     * zeros. The caller has checked the batch against the model (layer, experts).
     */
    public static float[] forward(FfnLayerWeights layer, FfnBatch batch) {
        float[] out = new float[batch.rows() * batch.hidden()];
        if (batch.sharedRows().length > 0) {
            addShared(layer.isMoe() ? layer.moe().shared() : layer.dense(), batch, out);
        }
        if (batch.routing().anyRouted()) {
            MoeDispatch.forward(layer.moe(), batch.x(), batch.routing(), out);
        }
        return out;
    }

    /** Runs the MLP once over the gathered shared rows and writes each result into its row of {@code out}. */
    private static void addShared(MlpWeights mlp, FfnBatch batch, float[] out) {
        int[] shared = batch.sharedRows();
        int n = shared.length;
        int hidden = batch.hidden();
        if (n == batch.rows() && isIdentity(shared)) { // every row, in order: no gather needed
            Mlp.forward(mlp, batch.x(), n, out);
            return;
        }
        float[] block = new float[n * hidden];
        for (int i = 0; i < n; i++) {
            System.arraycopy(batch.x(), shared[i] * hidden, block, i * hidden, hidden);
        }
        float[] result = new float[n * hidden];
        Mlp.forward(mlp, block, n, result);
        // out is still all zeros here, so writing the rows is the same as adding them.
        for (int i = 0; i < n; i++) {
            System.arraycopy(result, i * hidden, out, shared[i] * hidden, hidden);
        }
    }

    private static boolean isIdentity(int[] rows) {
        for (int i = 0; i < rows.length; i++) {
            if (rows[i] != i) {
                return false;
            }
        }
        return true;
    }
}
