package dev.afd.model.kernels;

import dev.afd.model.tensor.Tensor;

/**
 * A SiLU-gated MLP: {@code down(silu(gate x) * (up x))}, or with a clamp limit L > 0 (Step-3.5's SwiGLU limits)
 * {@code down(min(silu(gate x), L) * clamp(up x, -L, L))}. Used by dense layers, the shared expert and each routed
 * expert alike.
 *
 * @param gate [I, H]
 * @param up [I, H]
 * @param down [H, I]
 * @param limit the SwiGLU clamp, 0 for none
 */
public record MlpWeights(Tensor gate, Tensor up, Tensor down, float limit) {
    public MlpWeights {
        if (!(limit >= 0) || Float.isInfinite(limit)) {
            throw new IllegalArgumentException("a SwiGLU limit is a finite number >= 0 (0: no clamp), got " + limit);
        }
    }

    /** An MLP without a clamp. */
    public MlpWeights(Tensor gate, Tensor up, Tensor down) {
        this(gate, up, down, 0f);
    }

    public int hidden() {
        return gate.cols();
    }

    public int intermediate() {
        return gate.rows();
    }
}
