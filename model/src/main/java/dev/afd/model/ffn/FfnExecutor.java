package dev.afd.model.ffn;

import java.util.concurrent.CompletableFuture;

/**
 * Computes the FFN half of a layer for a micro-batch of rows: the dense MLP of a dense layer, or the shared expert
 * plus the routed experts of a MoE layer. This is the seam of attention-FFN disaggregation: in one process it may
 * call the CPU kernels directly; across processes it is an exchange with ffn-nodes.
 *
 * <p>{@link #submit} must not wait for remote work: the forward pass computes the next micro-batch's attention
 * while this one's FFN runs (ping-pong). A failed or timed-out exchange completes the future exceptionally.
 */
public interface FfnExecutor {
    /** Starts the work; the future yields the FFN output, {@code rows × hidden}, to add to the residual stream. */
    CompletableFuture<float[]> submit(FfnWork work);
}
