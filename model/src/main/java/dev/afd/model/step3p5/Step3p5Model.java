package dev.afd.model.step3p5;

import dev.afd.model.family.Chunk;
import dev.afd.model.family.DecoderModel;
import dev.afd.model.family.KvLayout;
import dev.afd.model.family.MultiTokenPredictor;
import dev.afd.model.family.Rows;
import dev.afd.model.ffn.CpuFfn;
import dev.afd.model.ffn.FfnBatch;
import dev.afd.model.ffn.FfnExecutor;
import dev.afd.model.ffn.Routing;
import dev.afd.model.kernels.Attention;
import dev.afd.model.kernels.MatMul;
import dev.afd.model.kernels.Parallel;
import dev.afd.model.kernels.RmsNorm;
import dev.afd.model.kernels.Rope;
import dev.afd.model.kv.SequenceKv;
import dev.afd.model.step3p5.Step3p5Config.AttentionShape;
import dev.afd.model.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The Step-3.5 forward pass: grouped-query attention with per-head q/k norms, partial rotary (per-layer theta, llama3
 * scaling on the configured layer types), a head-wise sigmoid gate, sliding-window layers, zero-centred norms, and
 * sigmoid routing with a selection bias; the layer loop and micro-batch ping-pong are {@link DecoderModel}'s. The
 * SwiGLU clamps live in the FFN weights, so the FFN side applies them.
 *
 * <p>Each KV group of each layer is one cache slot ({@link KvLayout}). Sliding layers write every position and
 * read the last {@code sliding_window} of them.
 *
 * <p>Threading: one engine thread calls {@link #forward} and {@link #mtp}; kernels fan out on the shared kernel pool.
 */
public final class Step3p5Model extends DecoderModel implements MultiTokenPredictor {
    private final Step3p5Config config;
    private final Step3p5Weights weights;
    private final KvLayout kv;
    private final KvLayout mtpKv;
    /** Per layer (MTP layers after the main ones): its rotation, shared between layers that rotate alike. */
    private final Rope[] ropes;

    public Step3p5Model(Step3p5Config config, Step3p5Weights weights, FfnExecutor ffn) {
        super(config, ffn, weights.embed(), weights.lmHead());
        this.config = config;
        this.weights = weights;
        this.kv = config.kvLayout();
        this.mtpKv = config.mtpKvLayout();
        int all = config.numLayers() + config.numMtpLayers();
        this.ropes = new Rope[all];
        Map<List<Object>, Rope> shared = new HashMap<>();
        for (int l = 0; l < all; l++) {
            int rotary = config.rotaryDim(l);
            double theta = config.ropeTheta().get(l);
            Rope.Llama3Scaling scaling = config.ropeScaling(l);
            List<Object> key = Arrays.asList(rotary, theta, scaling); // the scaling may be null
            ropes[l] = shared.computeIfAbsent(key, k -> new Rope(config.headDim(), rotary, theta, scaling));
        }
    }

    @Override
    public Step3p5Config config() {
        return config;
    }

    @Override
    public Step3p5Weights weights() {
        return weights;
    }

    @Override
    protected float[] attention(int layer, float[] h, Rows rows) {
        return attention(layer, weights.layers().get(layer), kv, layer, h, rows);
    }

    @Override
    protected void postAttentionNorm(int layer, float[] h, int rows, float[] out) {
        norm(h, rows, weights.layers().get(layer).postAttentionNorm(), out);
    }

    @Override
    protected Routing route(int layer, float[] f, int rows) {
        Step3p5Layer l = weights.layers().get(layer);
        return SigmoidRouter.route(l.ffn().moe().router(), l.routerBias(), f, rows, config.topK(),
                config.normExpertWeight(), (float) config.routerScalingFactor());
    }

    @Override
    protected void finalNorm(float[] h, int rows) {
        norm(h, rows, weights.finalNorm(), h);
    }

    @Override
    public int mtpLayers() {
        return config.numMtpLayers();
    }

    @Override
    public KvLayout mtpKvLayout() {
        return mtpKv;
    }

    /**
     * Runs MTP layer {@code k} over consecutive positions {@code start, start+1, ...} of one sequence: row t mixes the
     * main model's hidden state at position {@code start + t} (before the final norm) with the embedding of the
     * token at the next position, {@code x = eh_proj(concat(enorm(embed(next)), hnorm(h)))}, runs the layer's
     * decoder block (its attention reads and writes {@code cache}, laid out as {@link Step3p5Config#mtpKvLayout()},
     * which must hold positions {@code [0, start)} of this layer within its window), and predicts with the layer's
     * own head. Its FFN half runs here on the CPU kernels: the MTP block is a dense layer and never crosses the wire.
     */
    @Override
    public MtpOutput mtp(int k, SequenceKv cache, int start, float[] hidden, int[] nextTokens, int logitRows) {
        if (k < 0 || k >= config.numMtpLayers()) {
            throw new IllegalArgumentException("MTP layer " + k + " does not exist; the model has "
                    + config.numMtpLayers());
        }
        int n = nextTokens.length;
        int hs = config.hiddenSize();
        if (hidden.length != n * hs) {
            throw new IllegalArgumentException(n + " next tokens need " + n * hs + " hidden floats, got "
                    + hidden.length);
        }
        if (logitRows < 0 || logitRows > n) {
            throw new IllegalArgumentException(n + " rows cannot want logits for " + logitRows);
        }
        MtpWeights m = weights.mtp().get(k);
        float[] both = new float[n * 2 * hs];
        float[] e = embed(nextTokens);
        float[] g = new float[n * hs];
        norm(e, n, m.enorm(), e);
        norm(hidden, n, m.hnorm(), g);
        for (int r = 0; r < n; r++) {
            System.arraycopy(e, r * hs, both, r * 2 * hs, hs);
            System.arraycopy(g, r * hs, both, r * 2 * hs + hs, hs);
        }
        float[] x = new float[n * hs];
        MatMul.matmul(m.ehProj(), both, n, x);

        Rows rows = Rows.of(List.of(new Chunk(cache, nextTokens, start, false)));
        int layer = config.numLayers() + k;
        addInPlace(x, attention(layer, m.block(), mtpKv, k, x, rows));
        float[] f = new float[x.length];
        norm(x, n, m.block().postAttentionNorm(), f);
        addInPlace(x, CpuFfn.forward(m.block().ffn(), FfnBatch.everyRow(layer, f, hs, Routing.none(n))));

        float[] normed = new float[logitRows * hs];
        norm(Arrays.copyOfRange(x, (n - logitRows) * hs, x.length), logitRows, m.headNorm(), normed);
        float[] logits = new float[logitRows * config.vocabSize()];
        MatMul.matmul(m.head(), normed, logitRows, logits);
        return new MtpOutput(x, logits);
    }

    /**
     * The attention half of one layer for every row: {@code o_proj(gate * attention)}.
     *
     * @param layer the layer's index among all layers (MTP ones after the main ones): its shape and rotation
     * @param layout the cache's layout, and {@code slotLayer} the layer's index in it
     */
    private float[] attention(int layer, Step3p5Layer w, KvLayout layout, int slotLayer, float[] h, Rows rows) {
        AttentionShape s = config.attention(layer);
        int n = rows.count();
        int hd = s.headDim();
        int qDim = s.qDim();
        int kvDim = s.kvDim();
        int perGroup = s.headsPerGroup();
        float[] a = new float[h.length];
        norm(h, n, w.inputNorm(), a);

        float[] q = new float[n * qDim];
        float[] k = new float[n * kvDim];
        float[] v = new float[n * kvDim];
        List<MatMul.Product> products = new ArrayList<>(List.of(new MatMul.Product(w.qProj(), a, n, q),
                new MatMul.Product(w.kProj(), a, n, k), new MatMul.Product(w.vProj(), a, n, v)));
        float[] gate = null;
        if (w.gProj() != null) {
            gate = new float[n * s.heads()];
            products.add(new MatMul.Product(w.gProj(), a, n, gate));
        }
        MatMul.matmuls(products);
        // Per-head norms: each head is a row of head_dim.
        norm(q, n * s.heads(), w.qNorm(), q);
        norm(k, n * s.groups(), w.kNorm(), k);

        Rope rope = ropes[layer];
        // Rotate and cache every row's keys before any row attends: a prefill row at position p must see the keys
        // of the earlier rows of its own chunk.
        for (int r = 0; r < n; r++) {
            int pos = rows.position(r);
            rope.apply(q, r * qDim, s.heads(), pos);
            rope.apply(k, r * kvDim, s.groups(), pos);
            SequenceKv cache = rows.chunk(r).kv();
            for (int g = 0; g < s.groups(); g++) {
                cache.write(layout.slot(slotLayer, g), pos, k, r * kvDim + g * hd, v, r * kvDim + g * hd);
            }
        }
        float scale = (float) (1.0 / Math.sqrt(hd));
        float[] o = new float[n * qDim];
        Parallel.forRange(n * s.groups(), 1, (from, to) -> {
            for (int i = from; i < to; i++) {
                int r = i / s.groups();
                int g = i % s.groups();
                int pos = rows.position(r);
                int off = r * qDim + g * perGroup * hd;
                Attention.attend(q, off, perGroup, hd, rows.chunk(r).kv().layer(layout.slot(slotLayer, g)),
                        layout.firstVisible(slotLayer, pos), pos + 1, scale, o, off);
            }
        });
        if (gate != null) {
            for (int r = 0; r < n; r++) {
                for (int head = 0; head < s.heads(); head++) {
                    float sigmoid = (float) (1.0 / (1.0 + Math.exp(-gate[r * s.heads() + head])));
                    int off = r * qDim + head * hd;
                    for (int d = 0; d < hd; d++) {
                        o[off + d] *= sigmoid;
                    }
                }
            }
        }
        float[] out = new float[n * config.hiddenSize()];
        MatMul.matmul(w.oProj(), o, n, out);
        return out;
    }

    private void norm(float[] x, int rows, Tensor w, float[] out) {
        float eps = (float) config.rmsNormEps();
        if (config.zeroCentred()) {
            RmsNorm.rmsNormZeroCentred(x, rows, w, eps, out);
        } else {
            RmsNorm.rmsNorm(x, rows, w, eps, out);
        }
    }
}
