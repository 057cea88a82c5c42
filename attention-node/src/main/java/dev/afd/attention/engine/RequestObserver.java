package dev.afd.attention.engine;

/**
 * What the engine tells about each request as it runs, for metrics: its tokens as they come and its timeline when
 * it ends. Called on the engine thread, between steps: implementations must be quick and must not block.
 */
public interface RequestObserver {
    /** Observes nothing: engines run without metrics (offline generation, benchmarks). */
    RequestObserver NONE = new RequestObserver() {};

    /** A request's first token, {@code nanos} after it was submitted; its prompt had {@code promptTokens}. */
    default void firstToken(long nanos, int promptTokens) {}

    /** A later token of a request, {@code nanos} after its previous one. */
    default void nextToken(long nanos) {}

    /**
     * A sequence verified {@code drafts} draft tokens in one step (speculative decoding), of which the first
     * {@code accepted} were accepted.
     */
    default void drafted(int drafts, int accepted) {}

    /**
     * A request ended.
     *
     * @param finishReason {@code stop}, {@code length}, {@code abort} (the caller aborted it) or {@code error} (its
     *     step failed, or the engine shut down)
     */
    default void finished(String finishReason, RequestTimeline timeline) {}
}
