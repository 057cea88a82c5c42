package dev.afd.attention.engine;

import dev.afd.model.generate.GenerationResult;
import dev.afd.model.sampling.PromptLogprob;
import dev.afd.model.sampling.Sample;
import java.util.List;

/**
 * Where a request's output goes. Called on the engine thread, one call at a time per request, in order; an
 * implementation must not block (hand slow work to another thread).
 */
public interface TokenSink {
    /** The request is in a step for the first time: its wait in the queue is over, its prefill starts. Once. */
    default void onScheduled() {}

    /**
     * The prompt's log-probabilities (tokens 1..n-1; the first has none), once, before the first token; only for a
     * request that asked for them.
     */
    default void onPromptLogprobs(List<PromptLogprob> prompt) {}

    /** A newly sampled token. */
    void onToken(Sample sample);

    /** The request ended normally: {@code result.finishReason()} is "stop", "length" or "abort". */
    void onFinish(GenerationResult result);

    /** The request failed; {@code message} says what failed and what to do. No further calls follow. */
    void onError(String message);
}
