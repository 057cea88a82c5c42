package dev.afd.ffn.cuda;

import dev.afd.model.kernels.MlpWeights;
import dev.afd.model.kernels.MoeWeights;
import dev.afd.model.step3.LayerWeights;
import dev.afd.model.step3.Step3Config;
import dev.afd.model.step3.Step3Weights;
import dev.afd.model.tensor.DType;
import dev.afd.model.tensor.Halfs;
import dev.afd.model.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.LongStream;

/**
 * A model of any FFN shape with random bf16 weights, held in memory (no files): layer {@link #MOE_LAYER} is a MoE
 * layer (routed experts and a shared expert), and, when {@code intermediate > 0}, layer {@link #DENSE_LAYER} is
 * dense. Attention weights are placeholders the FFN backends never read. For the CUDA backend's tests and
 * benchmarks, whose shapes the generated checkpoints do not cover.
 *
 * <p>Ownership: owns the memory of its weights until {@link #close}; any thread may read them.
 */
final class SyntheticModel implements AutoCloseable {
    static final int MOE_LAYER = 0;
    static final int DENSE_LAYER = 1;

    /**
     * @param hidden H
     * @param intermediate the dense layer's MLP width, or 0 for no dense layer
     * @param experts routed experts per MoE layer
     * @param topK slots per row
     * @param expertInter each routed expert's width
     * @param sharedInter the shared expert's width
     * @param limit the SwiGLU clamp of every MLP (routed experts; the shared expert and the dense layer get 3/4 of
     *     it, so that the two limits differ), 0 for none
     */
    record Shape(int hidden, int intermediate, int experts, int topK, int expertInter, int sharedInter, float limit) {
        /** A shape without SwiGLU clamps. */
        Shape(int hidden, int intermediate, int experts, int topK, int expertInter, int sharedInter) {
            this(hidden, intermediate, experts, topK, expertInter, sharedInter, 0f);
        }
    }

    final Shape shape;
    final Step3Config config;
    final Step3Weights weights;
    private final Arena arena = Arena.ofShared();

    /**
     * @param distinctExperts false gives every routed expert expert 0's weights: as fast to compute with, much
     *     faster to make at full scale
     */
    SyntheticModel(Shape s, long seed, boolean distinctExperts) {
        shape = s;
        config = config(s);
        Tensor placeholder = placeholder(arena);
        long h = s.hidden();
        MoeWeights moe = new MoeWeights(placeholder,
                experts("gate", seed, s.experts(), s.expertInter(), h, distinctExperts),
                experts("up", seed + 1, s.experts(), s.expertInter(), h, distinctExperts),
                experts("down", seed + 2, s.experts(), h, s.expertInter(), distinctExperts),
                mlp("shared", seed + 3, s.sharedInter(), h, 0.75f * s.limit()), s.limit());
        weights = weights(placeholder, moe,
                s.intermediate() > 0 ? mlp("dense", seed + 4, s.intermediate(), h, 0.75f * s.limit()) : null);
    }

    /** The config of a model of this shape: layer 0 MoE, and layer 1 dense when {@code intermediate > 0}. */
    static Step3Config config(Shape s) {
        boolean dense = s.intermediate() > 0;
        return new Step3Config(s.hidden(), dense ? 2 : 1, 1, 1, 2, 2, Math.max(s.intermediate(), 1),
                List.of(MOE_LAYER), s.experts(), s.topK(), s.expertInter(), s.sharedInter(), false, 2, 500000.0,
                1e-5, 16, List.of(1), 0);
    }

    /** A tensor for the weights the FFN backends never read (attention, norms, router, embeddings). */
    static Tensor placeholder(Arena arena) {
        return new Tensor("placeholder", DType.F32, new long[] {1}, arena.allocate(4));
    }

    /** The weights of {@link #config}'s model: the MoE layer, and the dense one when {@code dense} is not null. */
    static Step3Weights weights(Tensor placeholder, MoeWeights moe, MlpWeights dense) {
        LayerWeights moeLayer = new LayerWeights(placeholder, placeholder, placeholder, placeholder, placeholder,
                placeholder, placeholder, placeholder, null, moe);
        List<LayerWeights> layers = dense != null
                ? List.of(moeLayer, new LayerWeights(placeholder, placeholder, placeholder, placeholder,
                        placeholder, placeholder, placeholder, placeholder, dense, null))
                : List.of(moeLayer);
        return new Step3Weights(placeholder, layers, placeholder, placeholder);
    }

    private MlpWeights mlp(String name, long seed, long inter, long hidden, float limit) {
        return new MlpWeights(random(name + ".gate", seed, inter, hidden), random(name + ".up", seed + 10, inter, hidden),
                random(name + ".down", seed + 20, hidden, inter), limit);
    }

    private Tensor experts(String name, long seed, long experts, long rows, long cols, boolean distinct) {
        if (distinct) {
            return random(name, seed, experts, rows, cols);
        }
        Tensor one = random(name, seed, 1, rows, cols);
        MemorySegment all = arena.allocate(one.data().byteSize() * experts, 256);
        for (long e = 0; e < experts; e++) {
            MemorySegment.copy(one.data(), 0, all, e * one.data().byteSize(), one.data().byteSize());
        }
        return new Tensor(name, DType.BF16, new long[] {experts, rows, cols}, all);
    }

    /** Uniform bf16 values with standard deviation 1/sqrt(fan-in), so that outputs stay near 1; made in parallel. */
    private Tensor random(String name, long seed, long... shape) {
        long count = 1;
        for (long d : shape) {
            count *= d;
        }
        float bound = (float) Math.sqrt(3.0 / shape[shape.length - 1]);
        MemorySegment data = arena.allocate(2 * count, 256);
        long chunk = 1 << 20;
        long total = count;
        LongStream.range(0, (count + chunk - 1) / chunk).parallel().forEach(c -> {
            SplittableRandom random = new SplittableRandom(seed * 1_000_003L + c);
            for (long i = c * chunk; i < Math.min(total, (c + 1) * chunk); i++) {
                data.set(Tensor.SHORT_LE, 2 * i, Halfs.floatToBf16(bound * (2 * (float) random.nextDouble() - 1)));
            }
        });
        return new Tensor(name, DType.BF16, shape, data);
    }

    @Override
    public void close() {
        arena.close();
    }
}
