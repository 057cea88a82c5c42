package dev.afd.ffn.core;

import dev.afd.model.family.ModelConfig;
import dev.afd.model.family.ModelWeights;
import dev.afd.model.ffn.CpuFfn;
import dev.afd.model.ffn.FfnBatch;
import dev.afd.model.ffn.FfnLayerWeights;
import dev.afd.model.kernels.MlpWeights;
import dev.afd.model.safetensors.LoadProgress;
import dev.afd.model.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

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
    private final ModelWeights weights;
    private final ExpertSet experts;
    private final int hidden;

    /**
     * @throws IllegalArgumentException when {@code experts} exceeds the model's routed experts
     */
    public CpuFfnBackend(ModelConfig config, ModelWeights weights, ExpertRange experts) {
        this(config, weights, ExpertSet.of(experts));
    }

    /**
     * @throws IllegalArgumentException when {@code experts} names an expert the model lacks
     */
    public CpuFfnBackend(ModelConfig config, ModelWeights weights, ExpertSet experts) {
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
     * experts' slices of the stacked expert tensors. Nothing else is touched. Logs its progress when it takes long
     * (from a slow disk, many gigabytes).
     *
     * @return bytes covered
     */
    public long prefault() {
        List<MemorySegment> segments = new ArrayList<>();
        for (FfnLayerWeights l : weights.ffnLayers()) {
            if (l.isMoe()) {
                add(segments, l.moe().shared());
                for (ExpertRange r : experts.ranges()) {
                    segments.add(slice(l.moe().gate(), r));
                    segments.add(slice(l.moe().up(), r));
                    segments.add(slice(l.moe().down(), r));
                }
            } else {
                add(segments, l.dense());
            }
        }
        long bytes = segments.stream().mapToLong(MemorySegment::byteSize).sum();
        LoadProgress progress = LoadProgress.logged("reading this node's weights into memory", bytes);
        for (MemorySegment segment : segments) {
            if (segment.isMapped()) {
                segment.load();
            }
            progress.advance(segment.byteSize());
        }
        progress.finish();
        return bytes;
    }

    /** Experts {@code r} of a stacked {@code [E, ...]} tensor, as one contiguous slice. */
    private static MemorySegment slice(Tensor stacked, ExpertRange r) {
        long perExpert = stacked.data().byteSize() / stacked.dim(0);
        return stacked.data().asSlice(perExpert * r.first(), perExpert * r.size());
    }

    private static void add(List<MemorySegment> segments, MlpWeights m) {
        segments.add(m.gate().data());
        segments.add(m.up().data());
        segments.add(m.down().data());
    }

    @Override
    public ExpertSet experts() {
        return experts;
    }

    @Override
    public String name() {
        return "cpu";
    }
}
