package dev.afd.model.kernels;

import dev.afd.model.tensor.Tensor;

/**
 * A SiLU-gated MLP: {@code down(silu(gate x) * (up x))}. Used by dense layers, the shared expert and each routed
 * expert alike.
 *
 * @param gate [I, H]
 * @param up [I, H]
 * @param down [H, I]
 */
public record MlpWeights(Tensor gate, Tensor up, Tensor down) {
    public int hidden() {
        return gate.cols();
    }

    public int intermediate() {
        return gate.rows();
    }
}
