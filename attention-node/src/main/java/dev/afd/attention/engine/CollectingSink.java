package dev.afd.attention.engine;

import dev.afd.model.generate.GenerationResult;
import dev.afd.model.sampling.Sample;
import java.util.concurrent.CompletableFuture;

/** A sink that keeps nothing but the final result: for offline generation and tests. */
public final class CollectingSink implements TokenSink {
    private final CompletableFuture<GenerationResult> result = new CompletableFuture<>();

    /** Completes with the result, or exceptionally with an {@link IllegalStateException} carrying the error. */
    public CompletableFuture<GenerationResult> result() {
        return result;
    }

    @Override
    public void onToken(Sample sample) {}

    @Override
    public void onFinish(GenerationResult r) {
        result.complete(r);
    }

    @Override
    public void onError(String message) {
        result.completeExceptionally(new IllegalStateException(message));
    }
}
