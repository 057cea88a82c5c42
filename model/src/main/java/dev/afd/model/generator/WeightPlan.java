package dev.afd.model.generator;

import dev.afd.model.config.Step3Config;
import dev.afd.model.safetensors.SafetensorsWriter;
import dev.afd.model.tensor.DType;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Every tensor of a Step-3 checkpoint (names and shapes as in docs/model.md) with random values that keep the network
 * well-conditioned:
 *
 * <ul>
 *   <li>RMSNorm weights {@code 1 + 0.1 u}, u uniform in [-1, 1]: close to identity, but a wrong norm weight still
 *       shows in the output;
 *   <li>linear weights N(0, 1/in): a normed (unit-RMS) input gives unit-RMS outputs, so attention scores
 *       {@code q.k / sqrt(head_dim)} have a standard deviation near 1 and every layer adds an O(1) update to the
 *       residual stream, which grows only like the square root of the depth;
 *   <li>embeddings N(0, 1), the same scale as those updates;
 *   <li>router N(0, 2^2/H): router logits with a standard deviation near 2, so expert probabilities vary a lot
 *       from token to token and top-k choices are seldom near-ties;
 *   <li>lm_head N(0, 5^2/H): logits with a standard deviation near 5 (the final norm's output has unit RMS), so
 *       the gap between the two best logits is about 1 on average with 8 K ids and greedy decoding rarely meets a
 *       near-tie.
 * </ul>
 *
 * <p>Values are a pure function of (seed, tensor name, element index): each block of {@value #BLOCK} elements draws
 * from its own {@link SplittableRandom} seeded by a hash of the three, so blocks can be generated in parallel and
 * in any order and the same seed always gives the same bytes.
 */
final class WeightPlan {
    static final double NORM_SPREAD = 0.1;
    static final double EMBED_STD = 1.0;
    static final double ROUTER_LOGIT_STD = 2.0;
    static final double LOGIT_STD = 5.0;
    static final int BLOCK = 4096;

    private final DType dtype;
    private final long seed;
    private final List<SafetensorsWriter.Entry> entries = new ArrayList<>();

    private WeightPlan(DType dtype, long seed) {
        this.dtype = dtype;
        this.seed = seed;
    }

    /** The tensors of {@code c} in checkpoint order, stored as {@code dtype}. */
    static List<SafetensorsWriter.Entry> entries(Step3Config c, DType dtype, long seed) {
        WeightPlan plan = new WeightPlan(dtype, seed);
        long h = c.hiddenSize();
        plan.normal("model.embed_tokens.weight", EMBED_STD, c.vocabSize(), h);
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            plan.norm(p + "input_layernorm.weight", h);
            plan.linear(p + "self_attn.q_proj.weight", c.shareQDim(), h);
            plan.linear(p + "self_attn.k_proj.weight", c.headDim(), h);
            plan.linear(p + "self_attn.v_proj.weight", c.headDim(), h);
            plan.norm(p + "self_attn.inter_norm.weight", c.shareQDim());
            plan.linear(p + "self_attn.wq.weight", c.qDim(), c.shareQDim());
            plan.linear(p + "self_attn.o_proj.weight", h, c.qDim());
            plan.norm(p + "post_attention_layernorm.weight", h);
            if (c.isMoeLayer(i)) {
                long e = c.numExperts();
                long ie = c.moeIntermediateSize();
                plan.normal(p + "moe.gate.weight", ROUTER_LOGIT_STD / Math.sqrt(h), e, h);
                plan.linear(p + "moe.gate_proj.weight", e, ie, h);
                plan.linear(p + "moe.up_proj.weight", e, ie, h);
                plan.linear(p + "moe.down_proj.weight", e, h, ie);
                plan.mlp(p + "share_expert.", c.shareExpertDim(), h);
            } else {
                plan.mlp(p + "mlp.", c.intermediateSize(), h);
            }
        }
        plan.norm("model.norm.weight", h);
        plan.normal("lm_head.weight", LOGIT_STD / Math.sqrt(h), c.vocabSize(), h);
        return List.copyOf(plan.entries);
    }

    private void mlp(String prefix, long intermediate, long hidden) {
        linear(prefix + "gate_proj.weight", intermediate, hidden);
        linear(prefix + "up_proj.weight", intermediate, hidden);
        linear(prefix + "down_proj.weight", hidden, intermediate);
    }

    /** N(0, 1/in), with {@code in} the last dimension ([out, in] or stacked [E, out, in]). */
    private void linear(String name, long... shape) {
        normal(name, 1.0 / Math.sqrt(shape[shape.length - 1]), shape);
    }

    private void normal(String name, double std, long... shape) {
        add(name, shape, (random, out, from, to) -> {
            for (int i = from; i < to; i++) {
                out[i] = (float) (std * random.nextGaussian());
            }
        });
    }

    private void norm(String name, long size) {
        add(name, new long[] {size}, (random, out, from, to) -> {
            for (int i = from; i < to; i++) {
                out[i] = (float) (1.0 + NORM_SPREAD * random.nextDouble(-1.0, 1.0));
            }
        });
    }

    /** Draws values into {@code out[from..to)}, one draw per element. */
    private interface Draw {
        void draw(SplittableRandom random, float[] out, int from, int to);
    }

    private void add(String name, long[] shape, Draw draw) {
        long tensorSeed = mix(seed ^ fnv1a(name));
        entries.add(new SafetensorsWriter.Entry(name, dtype, shape, (first, out, count) -> {
            float[] skipped = null;
            int done = 0;
            while (done < count) {
                long index = first + done;
                long block = index / BLOCK;
                int offset = (int) (index % BLOCK);
                int n = Math.min(BLOCK - offset, count - done);
                SplittableRandom random = new SplittableRandom(mix(tensorSeed + mix(block)));
                if (offset > 0) {
                    // Only when a caller starts mid-block: replay the block's earlier draws to stay a pure function.
                    skipped = skipped == null ? new float[BLOCK] : skipped;
                    draw.draw(random, skipped, 0, offset);
                }
                draw.draw(random, out, done, done + n);
                done += n;
            }
        }));
    }

    /** The finalizer of MurmurHash3: nearby inputs give unrelated outputs. */
    static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
        z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
        return z ^ (z >>> 33);
    }

    private static long fnv1a(String s) {
        long h = 0xcbf29ce484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xFF)) * 0x100000001b3L;
        }
        return h;
    }
}
