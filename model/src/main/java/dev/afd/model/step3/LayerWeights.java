package dev.afd.model.step3;

import dev.afd.model.ffn.FfnLayerWeights;
import dev.afd.model.kernels.MlpWeights;
import dev.afd.model.kernels.MoeWeights;
import dev.afd.model.tensor.Tensor;

/**
 * One transformer layer. Exactly one of {@code dense} and {@code moe} is non-null.
 *
 * @param inputNorm [H]
 * @param qProj low-rank query [shareQ, H]
 * @param kProj [headDim, H]
 * @param vProj [headDim, H]
 * @param interNorm [shareQ]
 * @param wq [heads*headDim, shareQ]
 * @param oProj [H, heads*headDim]
 * @param postAttentionNorm [H]
 * @param dense the dense MLP of a dense layer, else null
 * @param moe the experts of a MoE layer, else null
 */
public record LayerWeights(
        Tensor inputNorm,
        Tensor qProj,
        Tensor kProj,
        Tensor vProj,
        Tensor interNorm,
        Tensor wq,
        Tensor oProj,
        Tensor postAttentionNorm,
        MlpWeights dense,
        MoeWeights moe) {

    public LayerWeights {
        if ((dense == null) == (moe == null)) {
            throw new IllegalArgumentException("a layer has either a dense MLP or experts, not both or neither");
        }
    }

    public boolean isMoe() {
        return moe != null;
    }

    /** The FFN half, as the FFN side sees it. */
    public FfnLayerWeights ffn() {
        return new FfnLayerWeights(dense, moe);
    }
}
