package dev.afd.ffn.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.afd.ffn.core.Batches;
import dev.afd.ffn.core.CpuFfnBackend;
import dev.afd.ffn.core.ExpertRange;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * CUDA against the CPU backend on random shapes, routings and shared-row sets: the differential test of the
 * kernels. Needs a usable GPU; skipped, with the probe's reason, everywhere else.
 */
class CudaFfnBackendTest {
    /** Per element, against the largest value: bf16 activations and intermediates cost about 0.3% RMS. */
    private static final double MAX_ERROR = 2e-2;
    /** For the whole output: ||cuda - cpu|| / ||cpu||. */
    private static final double RELATIVE_L2 = 1e-2;

    /**
     * Shapes with sizes that are multiples of 8 but leave partial tiles. The last one takes every kernel loop more
     * than once: hidden and the experts' width above 1024 (two or more activation chunks in the GEMV paths, for
     * gate/up and for down) and above 4 x 32 (the tensor-core path's ring of 4 k-stages is reused).
     */
    private static final SyntheticModel.Shape[] SHAPES = {
        new SyntheticModel.Shape(200, 136, 6, 3, 152, 72),
        new SyntheticModel.Shape(64, 128, 8, 2, 32, 32),
        new SyntheticModel.Shape(1288, 0, 12, 3, 1160, 264),
        // Step-3.5's SwiGLU clamps, low enough to change many elements, on every kernel path.
        new SyntheticModel.Shape(200, 136, 6, 3, 152, 72, 1.0f),
    };

    static final List<SyntheticModel> models = new ArrayList<>();

    @BeforeAll
    static void makeModels() {
        if (CudaProbe.verdict().available()) {
            for (int i = 0; i < SHAPES.length; i++) {
                models.add(new SyntheticModel(SHAPES[i], 100 + i, true));
            }
        }
    }

    /** Per test rather than per class, so that every skipped test shows the reason in the reports. */
    @BeforeEach
    void requireGpu() {
        CudaProbe.Verdict verdict = CudaProbe.verdict();
        assumeTrue(verdict.available(), "no usable GPU, CUDA test skipped: " + verdict.description());
    }

    @AfterAll
    static void closeModels() {
        models.forEach(SyntheticModel::close);
    }

    /** A node's experts: the middle of the model's range, so that both ends belong to other nodes. */
    private static ExpertRange served(SyntheticModel m) {
        return new ExpertRange(1, m.shape.experts() - 2);
    }

    private static void assertAgrees(float[] cuda, float[] cpu, String what) {
        assertThat(cuda).as(what).hasSameSizeAs(cpu);
        double scale = RandomFrames.scale(cpu);
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < cpu.length; i++) {
            double d = cuda[i] - cpu[i];
            assertThat(Math.abs(d)).as("%s: element %d is %s, the CPU says %s (largest %s)", what, i, cuda[i],
                    cpu[i], scale).isLessThanOrEqualTo(MAX_ERROR * scale);
            diff += d * d;
            norm += (double) cpu[i] * cpu[i];
        }
        assertThat(Math.sqrt(diff / Math.max(norm, 1e-30))).as("%s: relative L2 error", what)
                .isLessThanOrEqualTo(RELATIVE_L2);
    }

    @ParameterizedTest(name = "shape {0}, layer {1}, {2} rows")
    @CsvSource({
        "0, 0, 1", "0, 0, 2", "0, 0, 3", "0, 0, 9", "0, 0, 64", "0, 0, 300", "0, 1, 1", "0, 1, 37",
        "1, 0, 5", "1, 0, 130", "1, 1, 200",
        "2, 0, 1", "2, 0, 4", "2, 0, 48", "2, 0, 257",
        "3, 0, 1", "3, 0, 5", "3, 0, 200", "3, 1, 1", "3, 1, 37"})
    void agreesWithTheCpuBackend(int shape, int layer, int rows) {
        SyntheticModel m = models.get(shape);
        ExpertRange served = served(m);
        int k = layer == SyntheticModel.MOE_LAYER ? m.shape.topK() : 0;
        Random random = new Random(shape * 1_000L + layer * 100L + rows);
        CpuFfnBackend cpu = new CpuFfnBackend(m.config, m.weights, served);
        try (CudaFfnBackend cuda = CudaFfnBackend.create(m.config, m.weights, served)) {
            for (int trial = 0; trial < 3; trial++) {
                float[] x = RandomFrames.activations(random, rows, m.shape.hidden());
                int[] ids = RandomFrames.expertIds(random, rows, k, served, 0.25, trial == 1);
                float[] w = RandomFrames.expertWeights(random, rows * k);
                int[] shared = trial == 2 ? new int[0] : RandomFrames.sharedRows(random, rows);
                assertAgrees(cuda.compute(Batches.of(m.shape.hidden(), layer, x, rows, shared, k, ids, w)),
                        cpu.compute(Batches.of(m.shape.hidden(), layer, x, rows, shared, k, ids, w)),
                        "trial " + trial + " (" + shared.length + " shared rows)");
            }
        }
    }

    /**
     * Groups of exactly the sizes where the kernel paths change (GEMV-2 up to 2 rows, GEMV-8 up to 8, tensor cores
     * above, in tiles of up to 128), one per served expert of the largest shape, with distinct weights per expert.
     */
    @Test
    void everyTilePathAgreesAtItsBoundaries() {
        SyntheticModel m = models.get(2);
        ExpertRange served = served(m);
        int[] groups = {1, 2, 3, 8, 9, 128, 129, 300};
        int rows = IntStream.of(groups).sum();
        int k = m.shape.topK();
        int[] ids = new int[rows * k];
        Arrays.fill(ids, -1);
        int row = 0;
        for (int g = 0; g < groups.length; g++) {
            for (int i = 0; i < groups[g]; i++) {
                ids[row++ * k] = served.first() + g; // slot 0 of each row; the others belong to other nodes
            }
        }
        Random random = new Random(77);
        float[] x = RandomFrames.activations(random, rows, m.shape.hidden());
        float[] w = RandomFrames.expertWeights(random, rows * k);
        int[] shared = RandomFrames.sharedRows(random, rows);
        CpuFfnBackend cpu = new CpuFfnBackend(m.config, m.weights, served);
        try (CudaFfnBackend cuda = CudaFfnBackend.create(m.config, m.weights, served)) {
            assertAgrees(cuda.compute(Batches.of(m.shape.hidden(), 0, x, rows, shared, k, ids, w)),
                    cpu.compute(Batches.of(m.shape.hidden(), 0, x, rows, shared, k, ids, w)),
                    "groups of " + Arrays.toString(groups) + " rows");
        }
    }

    @Test
    void framesWithNothingToDoAndBadFramesAreAnsweredLikeTheCpu() {
        SyntheticModel m = models.getFirst();
        ExpertRange served = served(m);
        int hidden = m.shape.hidden();
        CpuFfnBackend cpu = new CpuFfnBackend(m.config, m.weights, served);
        try (CudaFfnBackend cuda = CudaFfnBackend.create(m.config, m.weights, served)) {
            assertThat(cuda.compute(Batches.of(m.shape.hidden(), 0, new float[0], 0, new int[0], 3, new int[0],
                    new float[0]))).isEmpty();
            float[] x = RandomFrames.activations(new Random(1), 2, hidden);
            assertThat(cuda.compute(Batches.of(m.shape.hidden(), 0, x, 2, new int[0], 3,
                    new int[] {-1, -1, -1, -1, -1, -1}, new float[6])))
                    .containsOnly(0f).hasSize(2 * hidden);
            int[] outside = {1, -1, -1, 0, -1, -1};
            assertThatThrownBy(() -> cuda.compute(Batches.of(m.shape.hidden(), 0, x, 2, new int[0], 3, outside,
                    new float[6])))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage(messageOf(() -> cpu.compute(Batches.of(m.shape.hidden(), 0, x, 2, new int[0], 3,
                            outside, new float[6]))));
        }
    }

    private static String messageOf(Runnable r) {
        try {
            r.run();
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
        throw new AssertionError("expected an IllegalArgumentException");
    }

    @Test
    void concurrentCallersGetTheSameAnswersAsOneAtATime() throws Exception {
        SyntheticModel m = models.getFirst();
        ExpertRange served = served(m);
        int k = m.shape.topK();
        try (CudaFfnBackend cuda = CudaFfnBackend.create(m.config, m.weights, served);
                ExecutorService callers = Executors.newFixedThreadPool(4)) {
            Random random = new Random(9);
            List<float[]> expected = new ArrayList<>();
            List<Future<float[]>> actual = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                int rows = 1 + random.nextInt(100);
                float[] x = RandomFrames.activations(random, rows, m.shape.hidden());
                int[] ids = RandomFrames.expertIds(random, rows, k, served, 0.2, false);
                float[] w = RandomFrames.expertWeights(random, rows * k);
                int[] shared = RandomFrames.sharedRows(random, rows);
                expected.add(cuda.compute(Batches.of(m.shape.hidden(), 0, x, rows, shared, k, ids, w)));
                actual.add(callers.submit(() -> cuda.compute(Batches.of(m.shape.hidden(), 0, x, rows, shared, k,
                        ids, w))));
            }
            for (int i = 0; i < expected.size(); i++) {
                // No atomics anywhere: the GPU's answer does not depend on timing.
                assertThat(actual.get(i).get()).as("frame %d", i).containsExactly(expected.get(i));
            }
        }
    }

    @Test
    void aClosedBackendRefusesWork() {
        SyntheticModel m = models.getFirst();
        CudaFfnBackend cuda = CudaFfnBackend.create(m.config, m.weights, served(m));
        assertThat(cuda.name()).isEqualTo("cuda");
        assertThat(cuda.describe()).contains("GiB of weights (experts 1-4 of 2 layers)");
        cuda.close();
        cuda.close();
        float[] x = new float[m.shape.hidden()];
        assertThatThrownBy(() -> cuda.compute(Batches.of(m.shape.hidden(), 0, x, 1, new int[] {0}, 3,
                new int[] {-1, -1, -1}, new float[3])))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("the CUDA backend has been closed");
    }
}
