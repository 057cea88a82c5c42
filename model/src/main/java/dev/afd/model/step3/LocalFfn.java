package dev.afd.model.step3;

import java.util.concurrent.CompletableFuture;

/**
 * Runs every layer's FFN in this process on the CPU kernels, with no wire in between: the plain reference path of
 * the engine (the servers' in-process transport adds the wire encoding on top of the same {@link CpuFfn}).
 */
public final class LocalFfn implements FfnExecutor {
    private final Step3Weights weights;

    public LocalFfn(Step3Weights weights) {
        this.weights = weights;
    }

    @Override
    public CompletableFuture<float[]> submit(FfnWork work) {
        return CompletableFuture.completedFuture(CpuFfn.forward(weights.layers().get(work.layer()), work.batch()));
    }
}
