package dev.afd.model.ffn;

import dev.afd.model.family.ModelWeights;
import java.util.concurrent.CompletableFuture;

/**
 * Runs every layer's FFN in this process on the CPU kernels, with no wire in between: the plain reference path of
 * the engine (the servers' in-process transport adds the wire encoding on top of the same {@link CpuFfn}).
 */
public final class LocalFfn implements FfnExecutor {
    private final ModelWeights weights;

    public LocalFfn(ModelWeights weights) {
        this.weights = weights;
    }

    @Override
    public CompletableFuture<float[]> submit(FfnWork work) {
        return CompletableFuture.completedFuture(CpuFfn.forward(weights.ffnLayers().get(work.layer()), work.batch()));
    }
}
