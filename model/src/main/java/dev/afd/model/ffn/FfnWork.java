package dev.afd.model.ffn;

/**
 * The FFN half of one layer for one micro-batch: the batch itself (every row shared, the router's slots) and what
 * the attention side knows about it beyond the FFN.
 *
 * @param step engine step number, for logs and tracing
 * @param microBatch micro-batch index within the step
 * @param positions each row's position in its sequence (a stable key for spreading shared-expert work)
 * @param batch the rows and their routing; owned by the executor once submitted
 */
public record FfnWork(long step, int microBatch, int[] positions, FfnBatch batch) {
    public int layer() {
        return batch.layer();
    }

    public int rows() {
        return batch.rows();
    }
}
