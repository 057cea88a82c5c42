package dev.afd.model.ffn;

import dev.afd.model.kernels.MlpWeights;
import dev.afd.model.kernels.MoeWeights;

/**
 * The FFN half of one decoder layer, as the FFN side (in process or on an ffn-node) computes it: a dense MLP, or
 * the experts of a MoE layer (their router included, though only the attention side routes). Exactly one is
 * non-null. Each MLP carries its own SwiGLU clamp.
 */
public record FfnLayerWeights(MlpWeights dense, MoeWeights moe) {
    public FfnLayerWeights {
        if ((dense == null) == (moe == null)) {
            throw new IllegalArgumentException("a layer has either a dense MLP or experts, not both or neither");
        }
    }

    public boolean isMoe() {
        return moe != null;
    }
}
