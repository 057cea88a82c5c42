package dev.afd.model.family;

import java.util.List;

/**
 * A model's forward pass over a batch that mixes prefill chunks and decode tokens of many sequences, with every
 * layer's FFN half handed to an {@link dev.afd.model.ffn.FfnExecutor}.
 *
 * <p>Threading: one engine thread calls {@link #forward}; kernels fan out on the shared kernel pool.
 */
public interface CausalLm {
    ModelConfig config();

    ModelWeights weights();

    /** Runs one engine step as a single micro-batch. */
    default float[][] forward(List<Chunk> chunks) {
        return forward(chunks, 1);
    }

    /**
     * Runs one engine step, split into up to {@code microBatches} micro-batches (whole sequences each) that take turns
     * through every layer: micro-batch b's attention runs while the FFN side still works on b-1 (the ping-pong of
     * attention-FFN disaggregation). Rows never interact across micro-batches, so the split changes timing, not
     * results.
     *
     * @return for each chunk, the logits of its last {@link Chunk#logitRows} rows ({@code vocab} floats each, row by
     *     row), or {@code null} when the chunk asked for none
     * @throws dev.afd.model.ffn.FfnException when an FFN exchange fails; no state of this step is kept
     */
    float[][] forward(List<Chunk> chunks, int microBatches);

    /**
     * {@link #forward(List, int)}, also handing back every row's hidden state before the final norm (what
     * multi-token-prediction drafting takes). Costs a copy of the rows; the model keeps none of it.
     */
    StepOutput forwardKeepingHidden(List<Chunk> chunks, int microBatches);
}
