package dev.afd.model.family;

import dev.afd.model.ffn.FfnLayerWeights;
import dev.afd.model.tensor.DType;
import java.util.List;

/**
 * A model's weights as seen from outside its family: what the FFN side computes with, and sizes for benchmarks.
 * The attention half's tensors stay the family's business.
 */
public interface ModelWeights {
    /** Each decoder layer's FFN weights (dense MLP or experts), in layer order. */
    List<FfnLayerWeights> ffnLayers();

    /** Bytes of weights that one decoded token reads at batch 1 (dense parts, shared expert, top-k experts). */
    long bytesReadPerToken(ModelConfig c);

    /** The dtype most weights are stored in (that of {@code lm_head}). */
    DType dtype();
}
