package dev.afd.ffn;

import dev.afd.model.config.Step3Config;
import dev.afd.model.kernels.Mlp;
import dev.afd.model.kernels.MoeDispatch;
import dev.afd.model.step3.LayerWeights;
import dev.afd.model.step3.MlpWeights;
import dev.afd.model.step3.Step3Weights;
import dev.afd.model.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * The FFN on the CPU's Vector API kernels.
 *
 * <p>"Holding" an expert range costs no loading: the weights are memory-mapped, and this backend never reads an
 * expert outside its range, so the pages of other experts are never faulted in. {@link #prefault()} reads the
 * pages it will use up front.
 *
 * <p>Threading: stateless over read-only weights; the weights must stay mapped (their checkpoint open) while any
 * call runs.
 */
public final class CpuFfnBackend implements FfnBackend {
    private final Step3Weights weights;
    private final ExpertRange experts;
    private final int hidden;

    /**
     * @throws IllegalArgumentException when {@code experts} exceeds the model's routed experts
     */
    public CpuFfnBackend(Step3Config config, Step3Weights weights, ExpertRange experts) {
        this.weights = weights;
        this.experts = experts.requireWithin(config.numExperts());
        this.hidden = config.hiddenSize();
    }

    @Override
    public float[] compute(int layer, float[] x, int rows, int[] sharedRows, int k, int[] expertIds,
            float[] expertWeights) {
        if (layer < 0 || layer >= weights.layers().size()) {
            throw new IllegalArgumentException("layer " + layer + " does not exist; the model has "
                    + weights.layers().size() + " layers");
        }
        if (rows < 0 || k < 0 || x.length < (long) rows * hidden || expertIds.length < (long) rows * k
                || expertWeights.length < (long) rows * k) {
            throw new IllegalArgumentException(rows + " rows with " + k + " slots need " + (long) rows * hidden
                    + " activations and " + (long) rows * k + " expert ids and weights; got " + x.length + ", "
                    + expertIds.length + " and " + expertWeights.length);
        }
        LayerWeights l = weights.layers().get(layer);
        boolean routed = checkSlots(layer, l.isMoe(), rows, k, expertIds);
        float[] out = new float[rows * hidden];
        if (sharedRows.length > 0) {
            addShared(l.isMoe() ? l.moe().shared() : l.dense(), x, rows, sharedRows, out);
        }
        if (routed) {
            MoeDispatch.forward(l.moe(), x, rows, k, expertIds, expertWeights, out);
        }
        return out;
    }

    /** Checks every slot before any work starts; returns whether some slot names an expert. */
    private boolean checkSlots(int layer, boolean moe, int rows, int k, int[] expertIds) {
        boolean routed = false;
        for (int s = 0; s < rows * k; s++) {
            int e = expertIds[s];
            if (e == -1) {
                continue;
            }
            String slot = "row " + s / k + " slot " + s % k;
            if (!moe) {
                throw new IllegalArgumentException(slot + " names expert " + e + " but layer " + layer
                        + " is dense: it has no routed experts");
            }
            if (!experts.contains(e)) {
                throw new IllegalArgumentException(slot + ": expert " + e + " is outside this node's experts "
                        + experts + (e < 0 ? " (-1 marks a slot that another node serves)" : ""));
            }
            routed = true;
        }
        return routed;
    }

    /** Runs the MLP once over the gathered shared rows and writes each result into its row of {@code out}. */
    private void addShared(MlpWeights mlp, float[] x, int rows, int[] sharedRows, float[] out) {
        int n = sharedRows.length;
        for (int r : sharedRows) {
            if (r < 0 || r >= rows) {
                throw new IllegalArgumentException("shared row " + r + " is outside the frame's " + rows + " rows");
            }
        }
        if (n == rows && isIdentity(sharedRows)) { // every row, in order: no gather needed
            Mlp.forward(mlp, x, rows, out);
            return;
        }
        float[] block = new float[n * hidden];
        for (int i = 0; i < n; i++) {
            System.arraycopy(x, sharedRows[i] * hidden, block, i * hidden, hidden);
        }
        float[] result = new float[n * hidden];
        Mlp.forward(mlp, block, n, result);
        // out is still all zeros here, so writing the rows is the same as adding them.
        for (int i = 0; i < n; i++) {
            System.arraycopy(result, i * hidden, out, sharedRows[i] * hidden, hidden);
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

    /**
     * Reads into memory the weight pages this node will use: the dense layers, the shared experts, and its own
     * experts' slices of the stacked expert tensors. Nothing else is touched.
     *
     * @return bytes covered
     */
    public long prefault() {
        long bytes = 0;
        for (LayerWeights l : weights.layers()) {
            if (l.isMoe()) {
                bytes += load(l.moe().shared()) + load(ownSlice(l.moe().gate())) + load(ownSlice(l.moe().up()))
                        + load(ownSlice(l.moe().down()));
            } else {
                bytes += load(l.dense());
            }
        }
        return bytes;
    }

    /** This node's experts of a stacked {@code [E, ...]} tensor, as one contiguous slice. */
    private MemorySegment ownSlice(Tensor stacked) {
        long perExpert = stacked.data().byteSize() / stacked.dim(0);
        return stacked.data().asSlice(perExpert * experts.first(), perExpert * experts.size());
    }

    private static long load(MlpWeights m) {
        return load(m.gate().data()) + load(m.up().data()) + load(m.down().data());
    }

    private static long load(MemorySegment segment) {
        if (segment.isMapped()) {
            segment.load();
        }
        return segment.byteSize();
    }

    @Override
    public ExpertRange experts() {
        return experts;
    }

    @Override
    public String name() {
        return "cpu";
    }
}
