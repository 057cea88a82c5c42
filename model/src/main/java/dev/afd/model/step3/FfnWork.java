package dev.afd.model.step3;

/**
 * The FFN half of one layer for one micro-batch.
 *
 * @param step engine step number, for logs and tracing
 * @param layer layer index
 * @param microBatch micro-batch index within the step
 * @param f post-attention-normed rows, {@code rows × hidden}; owned by the executor once submitted
 * @param rows number of rows
 * @param positions each row's position in its sequence (a stable key for spreading shared-expert work)
 * @param routing the router's choice for a MoE layer, {@code null} for a dense layer
 */
public record FfnWork(long step, int layer, int microBatch, float[] f, int rows, int[] positions, Routing routing) {}
