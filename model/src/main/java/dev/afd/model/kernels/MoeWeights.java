package dev.afd.model.kernels;

import dev.afd.model.tensor.Tensor;

/**
 * The expert side of a MoE layer: the router, every routed expert stacked in one tensor per projection, and the
 * always-on shared expert.
 *
 * @param router [E, H]
 * @param gate [E, Ie, H]
 * @param up [E, Ie, H]
 * @param down [E, H, Ie]
 * @param shared the shared expert (with its own clamp)
 * @param limit the routed experts' SwiGLU clamp, 0 for none
 */
public record MoeWeights(Tensor router, Tensor gate, Tensor up, Tensor down, MlpWeights shared, float limit) {
    /** Routed experts without a clamp. */
    public MoeWeights(Tensor router, Tensor gate, Tensor up, Tensor down, MlpWeights shared) {
        this(router, gate, up, down, shared, 0f);
    }

    public int numExperts() {
        return Math.toIntExact(gate.dim(0));
    }

    /** Routed expert {@code e} as a plain MLP (views into the stacked tensors, nothing copied). */
    public MlpWeights expert(int e) {
        return new MlpWeights(gate.slice(e), up.slice(e), down.slice(e), limit);
    }
}
