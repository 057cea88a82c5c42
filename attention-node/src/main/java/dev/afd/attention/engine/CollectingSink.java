package dev.afd.attention.engine;

import dev.afd.model.generate.GenerationResult;
import dev.afd.model.sampling.Sample;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * A sink that keeps the final result, and hands each token to a callback if given one: for offline generation,
 * benchmarks and tests. The callback runs on the engine thread and must not block.
 */
public final class CollectingSink implements TokenSink {
    private final CompletableFuture<GenerationResult> result = new CompletableFuture<>();
    private final Consumer<Sample> tokens;

    public CollectingSink() {
        this(sample -> {});
    }

    /** @param tokens called with every token, in order, on the engine thread */
    public CollectingSink(Consumer<Sample> tokens) {
        this.tokens = tokens;
    }

    /** Completes with the result, or exceptionally with an {@link IllegalStateException} carrying the error. */
    public CompletableFuture<GenerationResult> result() {
        return result;
    }

    @Override
    public void onToken(Sample sample) {
        tokens.accept(sample);
    }

    @Override
    public void onFinish(GenerationResult r) {
        result.complete(r);
    }

    @Override
    public void onError(String message) {
        result.completeExceptionally(new IllegalStateException(message));
    }
}
