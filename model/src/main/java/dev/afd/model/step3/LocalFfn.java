package dev.afd.model.step3;

import dev.afd.model.kernels.MoeDispatch;
import dev.afd.model.kernels.Mlp;
import java.util.concurrent.CompletableFuture;

/**
 * Runs every layer's FFN in this process on the CPU kernels, with no wire in between: the plain reference path of
 * the engine (the servers' in-process transport adds the wire encoding on top of the same math).
 */
public final class LocalFfn implements FfnExecutor {
    private final Step3Weights weights;
    private final int hidden;

    public LocalFfn(Step3Weights weights) {
        this.weights = weights;
        this.hidden = Math.toIntExact(weights.finalNorm().elementCount());
    }

    @Override
    public CompletableFuture<float[]> submit(FfnWork work) {
        return CompletableFuture.completedFuture(compute(work.layer(), work.f(), work.rows(), work.routing()));
    }

    private float[] compute(int layer, float[] f, int rows, Routing routing) {
        LayerWeights l = weights.layers().get(layer);
        float[] out = new float[rows * hidden];
        if (!l.isMoe()) {
            Mlp.forward(l.dense(), f, rows, out);
            return out;
        }
        // Shared expert first, then each routed expert's weighted output added on top.
        Mlp.forward(l.moe().shared(), f, rows, out);
        MoeDispatch.forward(l.moe(), f, rows, routing.k(), routing.experts(), routing.weights(), out);
        return out;
    }
}
