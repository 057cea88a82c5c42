package dev.afd.model.step3;

/**
 * Computes the FFN half of a layer for a batch of rows: the dense MLP of a dense layer, or the shared expert plus the
 * routed experts of a MoE layer. This is the seam of attention-FFN disaggregation: in one process it calls the CPU
 * kernels directly; across processes it is an exchange with ffn-nodes.
 */
public interface FfnExecutor {
    /**
     * @param layer layer index
     * @param f post-attention-normed rows, {@code rows × hidden}
     * @param rows number of rows
     * @param routing the router's choice for a MoE layer, {@code null} for a dense layer
     * @return the FFN output, {@code rows × hidden}, to be added to the residual stream
     */
    float[] compute(int layer, float[] f, int rows, Routing routing);
}
