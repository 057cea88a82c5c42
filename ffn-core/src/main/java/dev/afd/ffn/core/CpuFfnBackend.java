package dev.afd.ffn.core;

import dev.afd.model.config.Step3Config;
import dev.afd.model.ffn.FfnBatch;
import dev.afd.model.kernels.MlpWeights;
import dev.afd.model.step3.CpuFfn;
import dev.afd.model.step3.LayerWeights;
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
    public float[] compute(FfnBatch batch) {
        return CpuFfn.forward(FfnArguments.check(weights, experts, hidden, batch), batch);
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
