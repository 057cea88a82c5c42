package dev.afd.model.generator;

import dev.afd.model.family.ModelConfig;
import dev.afd.model.family.TensorSpec;
import dev.afd.model.safetensors.SafetensorsWriter;
import dev.afd.model.tensor.DType;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Every tensor of a family's checkpoint layout ({@link ModelConfig#tensors()}) with random values that keep the
 * network well-conditioned:
 *
 * <ul>
 *   <li>RMSNorm weights {@code 1 + 0.1 u}, u uniform in [-1, 1] (zero-centred ones {@code 0.1 u}, which scale by
 *       {@code 1 + w}): close to identity, but a wrong norm weight still shows in the output;
 *   <li>linear weights N(0, 1/in): a normed (unit-RMS) input gives unit-RMS outputs, so attention scores
 *       {@code q.k / sqrt(head_dim)} have a standard deviation near 1 and every layer adds an O(1) update to the
 *       residual stream, which grows only like the square root of the depth;
 *   <li>embeddings N(0, 1), the same scale as those updates;
 *   <li>router N(0, 2^2/H): router logits with a standard deviation near 2, so expert probabilities vary a lot
 *       from token to token and top-k choices are seldom near-ties; router selection biases N(0, 0.5^2), large
 *       enough to change some choices;
 *   <li>head-wise attention gates N(0, 1/H): gate logits near unit spread, so sigmoid gates range well inside (0, 1);
 *   <li>lm_head N(0, 5^2/H): logits with a standard deviation near 5 (the final norm's output has unit RMS), so
 *       the gap between the two best logits is about 1 on average with 8 K ids and greedy decoding rarely meets a
 *       near-tie.
 * </ul>
 *
 * <p>With {@code mtpAgreeing} (a benchmark fixture for speculative decoding with MTP drafts, whose acceptance is
 * near zero on random weights) the checkpoint is drawn so that its MTP layers agree with the main model: every output
 * projection ({@code o_proj}, and every {@code down_proj}: dense, shared and routed experts, MTP blocks included) is
 * scaled by {@value #AGREEING_OUTPUT_SCALE}, so each layer adds little to the residual stream and a position's next
 * token is nearly a function of its own token, f(t); each MTP layer gets an {@code eh_proj} that passes the
 * embedding half and drops the hidden half, an identity {@code enorm}, and the main model's final norm and
 * {@code lm_head} as its {@code shared_head}, so that from token t+1 it predicts about f(t+1), what the main model
 * will say at t+1. Attention, routing and experts still run in full, so the cost of a step is that of any
 * checkpoint of the shape; only the output is near-degenerate (greedy text soon cycles).
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
    static final double ROUTER_BIAS_STD = 0.5;
    static final double GATE_LOGIT_STD = 1.0;
    static final int BLOCK = 4096;
    static final double AGREEING_OUTPUT_SCALE = 0.002;

    private final DType dtype;
    private final long seed;
    private final List<SafetensorsWriter.Entry> entries = new ArrayList<>();

    private WeightPlan(DType dtype, long seed) {
        this.dtype = dtype;
        this.seed = seed;
    }

    /** The tensors of {@code c}'s checkpoint layout in checkpoint order, stored as {@code dtype}. */
    static List<SafetensorsWriter.Entry> entries(ModelConfig c, DType dtype, long seed) {
        return entries(c, dtype, seed, false);
    }

    /**
     * The tensors of {@code c}'s checkpoint layout in checkpoint order, stored as {@code dtype}; with
     * {@code mtpAgreeing}, drawn so that the MTP layers agree with the main model (see the class comment).
     *
     * @throws IllegalArgumentException for {@code mtpAgreeing} when the layout has no MTP layers
     */
    static List<SafetensorsWriter.Entry> entries(ModelConfig c, DType dtype, long seed, boolean mtpAgreeing) {
        if (mtpAgreeing && c.tensors().stream().noneMatch(t -> t.name().endsWith(EH_PROJ))) {
            throw new IllegalArgumentException("an MTP-agreeing checkpoint needs MTP layers, and model_type "
                    + c.modelType() + " here has none; use a step3p5 preset");
        }
        WeightPlan plan = new WeightPlan(dtype, seed);
        long h = c.hiddenSize();
        for (TensorSpec t : c.tensors()) {
            long[] shape = t.shape();
            if (mtpAgreeing && plan.agreeing(t)) {
                continue;
            }
            switch (t.kind()) {
                case EMBEDDING -> plan.normal(t.name(), EMBED_STD, shape);
                case NORM -> plan.uniform(t.name(), 1.0, shape);
                case ZERO_CENTRED_NORM -> plan.uniform(t.name(), 0.0, shape);
                case LINEAR -> plan.linear(t.name(), shape);
                case ROUTER -> plan.normal(t.name(), ROUTER_LOGIT_STD / Math.sqrt(h), shape);
                case ROUTER_BIAS -> plan.normal(t.name(), ROUTER_BIAS_STD, shape);
                case GATE -> plan.normal(t.name(), GATE_LOGIT_STD / Math.sqrt(h), shape);
                case LM_HEAD -> plan.normal(t.name(), LOGIT_STD / Math.sqrt(h), shape);
            }
        }
        return List.copyOf(plan.entries);
    }

    private static final String EH_PROJ = "eh_proj.weight";

    /** Adds {@code t} as the MTP-agreeing fixture draws it; false when the fixture draws it as usual. */
    private boolean agreeing(TensorSpec t) {
        String name = t.name();
        long[] shape = t.shape();
        if (name.endsWith("o_proj.weight") || name.endsWith("down_proj.weight")) {
            normal(name, name, AGREEING_OUTPUT_SCALE / Math.sqrt(shape[shape.length - 1]), shape);
        } else if (name.endsWith(EH_PROJ)) {
            // [H, 2H]: row i takes input i, the normed embedding's element i; the hidden half is dropped.
            long in = shape[1];
            add(name, name, shape, (random, out, first, from, to) -> {
                for (int i = from; i < to; i++) {
                    long index = first + i;
                    out[i] = index / in == index % in ? 1f : 0f;
                }
            });
        } else if (name.endsWith("enorm.weight")) {
            float identity = t.kind() == TensorSpec.Kind.ZERO_CENTRED_NORM ? 0f : 1f;
            add(name, name, shape, (random, out, first, from, to) -> Arrays.fill(out, from, to, identity));
        } else if (name.endsWith("shared_head.norm.weight")) {
            uniform(name, "model.norm.weight", t.kind() == TensorSpec.Kind.ZERO_CENTRED_NORM ? 0.0 : 1.0, shape);
        } else if (name.endsWith("shared_head.output.weight")) {
            normal(name, "lm_head.weight", LOGIT_STD / Math.sqrt(shape[1]), shape);
        } else {
            return false;
        }
        return true;
    }

    /** N(0, 1/in), with {@code in} the last dimension ([out, in] or stacked [E, out, in]). */
    private void linear(String name, long... shape) {
        normal(name, 1.0 / Math.sqrt(shape[shape.length - 1]), shape);
    }

    private void normal(String name, double std, long... shape) {
        normal(name, name, std, shape);
    }

    /** N(0, std^2), drawn as tensor {@code seedName} would be: the same values for the same shape. */
    private void normal(String name, String seedName, double std, long... shape) {
        add(name, seedName, shape, (random, out, first, from, to) -> {
            for (int i = from; i < to; i++) {
                out[i] = (float) (std * random.nextGaussian());
            }
        });
    }

    /** {@code centre + NORM_SPREAD u}, u uniform in [-1, 1]: a norm's effective scale near 1 either way. */
    private void uniform(String name, double centre, long... shape) {
        uniform(name, name, centre, shape);
    }

    private void uniform(String name, String seedName, double centre, long... shape) {
        add(name, seedName, shape, (random, out, first, from, to) -> {
            for (int i = from; i < to; i++) {
                out[i] = (float) (centre + NORM_SPREAD * random.nextDouble(-1.0, 1.0));
            }
        });
    }

    /** Draws values into {@code out[from..to)}, one draw per element; {@code out[i]} is element {@code first + i}. */
    private interface Draw {
        void draw(SplittableRandom random, float[] out, long first, int from, int to);
    }

    /** Adds tensor {@code name}, its random streams seeded by {@code seedName}. */
    private void add(String name, String seedName, long[] shape, Draw draw) {
        long tensorSeed = mix(seed ^ fnv1a(seedName));
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
                    draw.draw(random, skipped, block * BLOCK, 0, offset);
                }
                draw.draw(random, out, first, done, done + n);
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
