package dev.afd.model.step3;

import dev.afd.model.family.DecoderModel;
import dev.afd.model.family.Rows;
import dev.afd.model.ffn.FfnExecutor;
import dev.afd.model.ffn.Routing;
import dev.afd.model.kernels.Attention;
import dev.afd.model.kernels.MatMul;
import dev.afd.model.kernels.Parallel;
import dev.afd.model.kernels.RmsNorm;
import dev.afd.model.kernels.Rope;
import java.util.List;

/**
 * The Step-3 forward pass (docs/model.md): multi-matrix factorisation attention (a low-rank query, one K/V head per
 * layer), plain RMSNorms, softmax routing; the layer loop and micro-batch ping-pong are {@link DecoderModel}'s.
 *
 * <p>Threading: one engine thread calls {@link #forward}; kernels fan out on the shared kernel pool.
 */
public final class Step3Model extends DecoderModel {
    private final Step3Config config;
    private final Step3Weights weights;
    private final Rope rope;
    private final float attentionScale;

    public Step3Model(Step3Config config, Step3Weights weights, FfnExecutor ffn) {
        super(config, ffn, weights.embed(), weights.lmHead());
        this.config = config;
        this.weights = weights;
        this.rope = new Rope(config.headDim(), config.ropeTheta());
        this.attentionScale = (float) (1.0 / Math.sqrt(config.headDim()));
    }

    @Override
    public Step3Config config() {
        return config;
    }

    @Override
    public Step3Weights weights() {
        return weights;
    }

    @Override
    protected void postAttentionNorm(int layer, float[] h, int rows, float[] out) {
        RmsNorm.rmsNorm(h, rows, weights.layers().get(layer).postAttentionNorm(), eps(), out);
    }

    @Override
    protected Routing route(int layer, float[] f, int rows) {
        return Router.route(weights.layers().get(layer).moe().router(), f, rows, config.topK(),
                config.normExpertWeight());
    }

    @Override
    protected void finalNorm(float[] h, int rows) {
        RmsNorm.rmsNorm(h, rows, weights.finalNorm(), eps(), h);
    }

    @Override
    protected float[] attention(int layer, float[] h, Rows rows) {
        LayerWeights w = weights.layers().get(layer);
        int n = rows.count();
        int headDim = config.headDim();
        int heads = config.numHeads();
        int qDim = config.qDim();
        float[] a = new float[h.length];
        RmsNorm.rmsNorm(h, n, w.inputNorm(), eps(), a);

        float[] lowRankQ = new float[n * config.shareQDim()];
        float[] k = new float[n * headDim];
        float[] v = new float[n * headDim];
        MatMul.matmuls(List.of(new MatMul.Product(w.qProj(), a, n, lowRankQ), new MatMul.Product(w.kProj(), a, n, k),
                new MatMul.Product(w.vProj(), a, n, v)));
        RmsNorm.rmsNorm(lowRankQ, n, w.interNorm(), eps(), lowRankQ);
        float[] q = new float[n * qDim];
        MatMul.matmul(w.wq(), lowRankQ, n, q);

        // Rotate and cache every row's key before any row attends: a prefill row at position p must see the keys
        // of the earlier rows of its own chunk. One K/V head per layer: the layer's cache slot is the layer.
        for (int r = 0; r < n; r++) {
            int pos = rows.position(r);
            rope.apply(q, r * qDim, heads, pos);
            rope.apply(k, r * headDim, 1, pos);
            rows.chunk(r).kv().write(layer, pos, k, r * headDim, v, r * headDim);
        }
        float[] o = new float[n * qDim];
        Parallel.forRange(n, 1, (from, to) -> {
            for (int r = from; r < to; r++) {
                int pos = rows.position(r);
                Attention.attend(q, r * qDim, heads, headDim, rows.chunk(r).kv().layer(layer), pos + 1,
                        attentionScale, o, r * qDim);
            }
        });
        float[] out = new float[n * config.hiddenSize()];
        MatMul.matmul(w.oProj(), o, n, out);
        return out;
    }

    private float eps() {
        return (float) config.rmsNormEps();
    }
}
