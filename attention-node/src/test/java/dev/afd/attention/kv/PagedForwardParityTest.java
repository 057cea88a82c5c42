package dev.afd.attention.kv;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.model.family.CausalLm;
import dev.afd.model.family.Chunk;
import dev.afd.model.family.ModelConfig;
import dev.afd.model.ffn.LocalFfn;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.kv.SequenceKv;
import dev.afd.model.kv.SequenceKvCache;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.tensor.DType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The forward pass reads the paged cache exactly as it reads the contiguous one: logits must be bit-identical. The
 * paged cache has a pool per KV group ({@link KvPools#groupsOf}) and gives back, after every step, the sliding-window
 * blocks the next query cannot see, as the scheduler does: a read of a block given back would fail, and one that
 * mattered would change the logits.
 *
 * <p>The two caches run the same step back to back, after a warm-up pass: the JIT may compile the vector kernels'
 * lane reductions into a different summation order than the interpreter uses, so only runs under the same compiled
 * code are comparable bit for bit.
 */
class PagedForwardParityTest {
    private static final int STEPS = 8;
    private static final int PREFILL_CHUNK = 16;

    @TempDir
    static Path dir;

    /** Step-3 (one K/V head per layer) and Step-3.5 (GQA groups as cache slots, sliding window 16). */
    static final List<ModelPreset> PRESETS = List.of(ModelPreset.TINY, ModelPreset.STEP3P5_TINY);
    static final Map<ModelPreset, Checkpoint> checkpoints = new EnumMap<>(ModelPreset.class);

    @BeforeAll
    static void tinyModels() throws Exception {
        for (ModelPreset preset : PRESETS) {
            Path path = dir.resolve(preset.id());
            ModelGenerator.generate(preset.config(false), new ModelGenerator.Options(3, DType.BF16, 1, false), path);
            checkpoints.put(preset, Checkpoint.open(path));
        }
    }

    @AfterAll
    static void close() {
        checkpoints.values().forEach(Checkpoint::close);
    }

    static Stream<Arguments> cases() {
        return PRESETS.stream().flatMap(p -> Stream.of(DType.F32, DType.BF16).map(t -> Arguments.of(p, t)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void pagedLogitsEqualContiguousLogits(ModelPreset preset, DType dtype) {
        Checkpoint checkpoint = checkpoints.get(preset);
        CausalLm model = checkpoint.model(new LocalFfn(checkpoint.weights()));
        run(model, dtype, false);
        run(model, dtype, true);
    }

    /**
     * Sequence A (37 tokens) prefills in chunks of 16 while B (5 tokens) prefills at once, then both decode greedily.
     * Paged caches get their blocks before each step and slide after it, as the scheduler does.
     */
    private static void run(CausalLm model, DType dtype, boolean compare) {
        ModelConfig c = model.config();
        int slots = c.kvLayout().slots();
        int headDim = c.kvLayout().headDim();
        SplittableRandom random = new SplittableRandom(7);
        int[][] prompts = {random.ints(37, 0, c.vocabSize()).toArray(), random.ints(5, 0, c.vocabSize()).toArray()};
        List<KvGroup> groups = KvPools.groupsOf(c.kvLayout());
        try (KvPools pools = new KvPools(groups, groups.stream()
                        .map(g -> new BlockPool(16, g.slots().length, headDim, dtype, 4)).toList());
                SequenceKvCache contiguousA = new SequenceKvCache(slots, headDim, dtype, 4);
                SequenceKvCache contiguousB = new SequenceKvCache(slots, headDim, dtype, 4)) {
            SequenceKv[] contiguous = {contiguousA, contiguousB};
            PagedSequenceKv[] paged = {new PagedSequenceKv(pools), new PagedSequenceKv(pools)};
            int[] cached = new int[2];
            int[] next = new int[2];
            for (int step = 0; step < STEPS; step++) {
                List<Chunk> expectedChunks = new ArrayList<>();
                List<Chunk> pagedChunks = new ArrayList<>();
                for (int s = 0; s < 2; s++) {
                    int[] tokens;
                    boolean last;
                    if (cached[s] < prompts[s].length) {
                        int end = Math.min(prompts[s].length, cached[s] + PREFILL_CHUNK);
                        tokens = Arrays.copyOfRange(prompts[s], cached[s], end);
                        last = end == prompts[s].length;
                    } else {
                        tokens = new int[] {next[s]};
                        last = true;
                    }
                    assertThat(paged[s].ensureCapacity(cached[s] + tokens.length)).isTrue();
                    expectedChunks.add(new Chunk(contiguous[s], tokens, cached[s], last));
                    pagedChunks.add(new Chunk(paged[s], tokens, cached[s], last));
                    cached[s] += tokens.length;
                }
                float[][] expected = model.forward(expectedChunks);
                float[][] actual = model.forward(pagedChunks);
                for (int s = 0; s < 2; s++) {
                    assertThat(actual[s] == null).isEqualTo(expected[s] == null);
                    if (expected[s] != null) {
                        if (compare) {
                            assertThat(Arrays.equals(actual[s], expected[s]))
                                    .as("logits of sequence %d at step %d", s, step).isTrue();
                        }
                        next[s] = argmax(expected[s]);
                    }
                    paged[s].slide(cached[s]);
                }
            }
            for (int g = 0; g < groups.size(); g++) {
                assertThat(paged[0].table(g).firstHeld()).as("%s blocks given back", groups.get(g).name())
                        .isEqualTo(groups.get(g).sliding() ? (cached[0] + 1 - groups.get(g).window()) / 4 : 0);
            }
            paged[0].release();
            paged[1].release();
            for (int g = 0; g < groups.size(); g++) {
                assertThat(pools.pool(g).used()).isZero();
            }
        }
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }
}
