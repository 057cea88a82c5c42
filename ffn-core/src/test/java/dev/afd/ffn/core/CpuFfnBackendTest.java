package dev.afd.ffn.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.afd.model.ffn.FfnLayerWeights;
import dev.afd.model.kernels.Mlp;
import dev.afd.model.kernels.MlpWeights;
import dev.afd.model.kernels.MoeWeights;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CpuFfnBackendTest {
    @TempDir
    static Path dir;

    static TinyModel tiny;

    @BeforeAll
    static void makeModel() throws Exception {
        tiny = new TinyModel(dir);
    }

    @AfterAll
    static void closeModel() {
        tiny.close();
    }

    /** One row through one MLP, alone. */
    private static float[] mlp(MlpWeights w, float[] x, int row, int hidden) {
        float[] out = new float[hidden];
        Mlp.forward(w, Arrays.copyOfRange(x, row * hidden, (row + 1) * hidden), 1, out);
        return out;
    }

    /** Row by row: the shared or dense MLP if the row is listed, then each served slot's weighted expert. */
    static float[] reference(FfnLayerWeights l, float[] x, int rows, int[] sharedRows, int k, int[] ids,
            float[] weights, int hidden) {
        float[] out = new float[rows * hidden];
        for (int r : sharedRows) {
            System.arraycopy(mlp(l.isMoe() ? l.moe().shared() : l.dense(), x, r, hidden), 0, out, r * hidden,
                    hidden);
        }
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < k; j++) {
                int e = ids[r * k + j];
                if (e >= 0) {
                    MoeWeights m = l.moe();
                    float[] y = mlp(m.expert(e), x, r, hidden);
                    for (int i = 0; i < hidden; i++) {
                        out[r * hidden + i] += weights[r * k + j] * y[i];
                    }
                }
            }
        }
        return out;
    }

    static void assertClose(float[] actual, float[] expected) {
        double scale = 1e-6;
        for (float v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual[i]).as("element %d", i).isCloseTo(expected[i], within((float) (1e-5 * scale)));
        }
    }

    /** Shared rows: a random subset in random order, sometimes none or all. */
    static int[] randomSubset(Random random, int rows) {
        java.util.List<Integer> all = new java.util.ArrayList<>(IntStream.range(0, rows).boxed().toList());
        java.util.Collections.shuffle(all, random);
        return all.stream().filter(r -> random.nextInt(3) > 0).mapToInt(Integer::intValue).toArray();
    }

    @ParameterizedTest
    @CsvSource({"1, 0", "5, 1", "13, 2", "40, 3", "3, 2", "16, 1"})
    void matchesThePerRowReference(int rows, int layer) {
        Random random = new Random(31L * rows + layer);
        ExpertRange range = new ExpertRange(2, 5);
        CpuFfnBackend backend = tiny.backend(range);
        FfnLayerWeights l = tiny.checkpoint.weights().ffnLayers().get(layer);
        int hidden = tiny.hidden();
        int k = l.isMoe() ? tiny.config.topK() : 0;
        float[] x = tiny.activations(random, rows);
        int[] ids = new int[rows * k];
        float[] weights = new float[rows * k];
        for (int s = 0; s < ids.length; s++) {
            // About a third of the slots belong to other nodes.
            ids[s] = random.nextInt(3) == 0 ? -1 : range.first() + random.nextInt(range.size());
            weights[s] = random.nextFloat();
        }
        for (int[] shared : new int[][] {randomSubset(random, rows), {}, IntStream.range(0, rows).toArray()}) {
            float[] out = backend.compute(Batches.of(tiny.hidden(), layer, x, rows, shared, k, ids, weights));
            assertClose(out, reference(l, x, rows, shared, k, ids, weights, hidden));
        }
    }

    @Test
    void rowsWithNeitherSharedWorkNorSlotsGetZeros() {
        Random random = new Random(8);
        int rows = 4;
        int hidden = tiny.hidden();
        float[] x = tiny.activations(random, rows);
        int[] ids = {3, -1, -1, -1, -1, -1, -1, 4}; // row 0 and row 3 have a slot; rows 1 and 2 have nothing
        float[] out = tiny.backend(new ExpertRange(2, 5)).compute(Batches.of(tiny.hidden(), TinyModel.MOE_LAYER, x,
                rows, new int[] {3}, 2, ids, new float[] {0.5f, 0, 0, 0, 0, 0, 0, 0.25f}));
        for (int i = hidden; i < 3 * hidden; i++) {
            assertThat(out[i]).isZero();
        }
        assertThat(Arrays.copyOfRange(out, 0, hidden)).isNotEqualTo(new float[hidden]);
    }

    @Test
    void refusesExpertsOutsideItsRangeAndSlotsOnDenseLayers() {
        CpuFfnBackend backend = tiny.backend(new ExpertRange(2, 5));
        float[] x = new float[2 * tiny.hidden()];
        assertThatThrownBy(() -> backend.compute(Batches.of(tiny.hidden(), TinyModel.MOE_LAYER, x, 2, new int[0],
                2, new int[] {2, -1, 6, 3}, new float[4])))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("row 1 slot 0: expert 6 is outside this node's experts 2-5");
        assertThatThrownBy(() -> backend.compute(Batches.of(tiny.hidden(), TinyModel.MOE_LAYER, x, 2, new int[0],
                2, new int[] {-3, -1, 2, 3}, new float[4])))
                .hasMessageContaining("expert -3 is outside this node's experts 2-5 (-1 marks a slot");
        assertThatThrownBy(() -> backend.compute(Batches.of(tiny.hidden(), TinyModel.DENSE_LAYER, x, 2, new int[0],
                1, new int[] {-1, 4}, new float[2])))
                .hasMessage("row 1 slot 0 names expert 4 but layer 0 is dense: it has no routed experts");
        assertThatThrownBy(() -> backend.compute(Batches.of(tiny.hidden(), TinyModel.DENSE_LAYER, x, 2,
                new int[] {2}, 0, new int[0], new float[0])))
                .hasMessage("shared row 2 is outside the frame's 2 rows");
        assertThatThrownBy(() -> backend.compute(Batches.of(tiny.hidden(), 7, x, 2, new int[0], 0, new int[0],
                new float[0])))
                .hasMessage("layer 7 does not exist; the model has 4 layers");
    }

    @Test
    void aRangeBeyondTheModelIsRefusedAtStart() {
        assertThatThrownBy(() -> tiny.backend(new ExpertRange(4, 8)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("experts 4-8 exceed the model's 8 routed experts; pick a range within 0-7");
    }

    @Test
    void prefaultCoversOnlyThisNodesWeights() {
        long dense = 0;
        long shared = 0;
        long allExperts = 0;
        for (FfnLayerWeights l : tiny.checkpoint.weights().ffnLayers()) {
            if (l.isMoe()) {
                shared += bytes(l.moe().shared());
                allExperts += l.moe().gate().data().byteSize() + l.moe().up().data().byteSize()
                        + l.moe().down().data().byteSize();
            } else {
                dense += bytes(l.dense());
            }
        }
        long expected = dense + shared + allExperts * 3 / tiny.config.numExperts();
        assertThat(tiny.backend(new ExpertRange(5, 7)).prefault()).isEqualTo(expected);
        assertThat(tiny.backend(new ExpertRange(0, 7)).prefault()).isEqualTo(dense + shared + allExperts);
    }

    private static long bytes(MlpWeights m) {
        return m.gate().data().byteSize() + m.up().data().byteSize() + m.down().data().byteSize();
    }
}
