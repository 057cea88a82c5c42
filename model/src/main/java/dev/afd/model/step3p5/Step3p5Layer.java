package dev.afd.model.step3p5;

import dev.afd.model.ffn.FfnLayerWeights;
import dev.afd.model.tensor.Tensor;

/**
 * One Step-3.5 decoder layer (a main layer, or the block of an MTP layer).
 *
 * @param inputNorm [H]
 * @param qProj [heads*headDim, H]
 * @param kProj [groups*headDim, H]
 * @param vProj [groups*headDim, H]
 * @param oProj [H, heads*headDim]
 * @param gProj the head-wise gate [heads, H], or null without one
 * @param qNorm per-head query norm [headDim]
 * @param kNorm per-head key norm [headDim]
 * @param postAttentionNorm [H]
 * @param ffn the dense MLP or the experts, with their SwiGLU clamps
 * @param routerBias a MoE layer's selection bias [E], or null (a dense layer, or no bias)
 */
public record Step3p5Layer(
        Tensor inputNorm,
        Tensor qProj,
        Tensor kProj,
        Tensor vProj,
        Tensor oProj,
        Tensor gProj,
        Tensor qNorm,
        Tensor kNorm,
        Tensor postAttentionNorm,
        FfnLayerWeights ffn,
        Tensor routerBias) {}
