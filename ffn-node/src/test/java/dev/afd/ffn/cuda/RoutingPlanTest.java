package dev.afd.ffn.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.afd.ffn.core.Batches;
import dev.afd.ffn.core.CpuFfnBackend;
import dev.afd.ffn.core.ExpertRange;
import dev.afd.model.kernels.Mlp;
import dev.afd.model.kernels.MlpWeights;
import dev.afd.model.step3.LayerWeights;
import java.util.Arrays;
import java.util.Random;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The host half of the CUDA backend, which runs without a GPU: the plan's tables and tiles, and, through a Java
 * emulation of each kernel's contract as {@code ffn.cu} states it, that the plan reproduces the CPU backend.
 */
class RoutingPlanTest {
    static SyntheticModel model;

    @BeforeAll
    static void makeModel() {
        model = new SyntheticModel(new SyntheticModel.Shape(48, 40, 8, 3, 24, 16), 5, true);
    }

    @AfterAll
    static void closeModel() {
        model.close();
    }

    @Test
    void groupsBecomeTilesByTheirSize() {
        // Groups of 0, 1, 2, 3, 8, 9, 128, 130 and 300 positions.
        int[] sizes = {0, 1, 2, 3, 8, 9, 128, 130, 300};
        int[] start = new int[sizes.length + 1];
        for (int g = 0; g < sizes.length; g++) {
            start[g + 1] = start[g] + sizes[g];
        }
        Tiles tiles = Tiles.of(start);
        assertThat(tiles.of(TilePath.GEMV2)).containsExactly(1, 0, 1, 2, 1, 3);
        assertThat(tiles.of(TilePath.GEMV8)).containsExactly(3, 3, 6, 4, 6, 14);
        assertThat(tiles.of(TilePath.MMA)).containsExactly(
                5, 14, 23,
                6, 23, 151,
                7, 151, 216, 7, 216, 281, // 130 rows: 65 + 65
                8, 281, 381, 8, 381, 481, 8, 481, 581); // 300 rows: 100 + 100 + 100
        assertThat(tiles.count(TilePath.MMA)).isEqualTo(7);
    }

    @Test
    void tilesCoverEveryPositionOnceWithinTheirPathsLimits() {
        Random random = new Random(3);
        for (int trial = 0; trial < 200; trial++) {
            int groups = 1 + random.nextInt(40);
            int[] start = new int[groups + 1];
            for (int g = 0; g < groups; g++) {
                start[g + 1] = start[g] + (random.nextBoolean() ? random.nextInt(10) : random.nextInt(600));
            }
            Tiles tiles = Tiles.of(start);
            int[] owner = new int[start[groups]];
            Arrays.fill(owner, -1);
            for (TilePath path : TilePath.values()) {
                int[] t = tiles.of(path);
                for (int i = 0; i < t.length; i += 3) {
                    int g = t[i];
                    int size = start[g + 1] - start[g];
                    assertThat(TilePath.forGroup(size)).isEqualTo(path);
                    assertThat(t[i + 2] - t[i + 1]).isBetween(1, path.maxRows);
                    assertThat(t[i + 1]).isGreaterThanOrEqualTo(start[g]);
                    assertThat(t[i + 2]).isLessThanOrEqualTo(start[g + 1]);
                    for (int p = t[i + 1]; p < t[i + 2]; p++) {
                        assertThat(owner[p]).as("position %d tiled twice", p).isEqualTo(-1);
                        owner[p] = g;
                    }
                }
            }
            assertThat(owner).doesNotContain(-1);
        }
    }

    @Test
    void positionsAreSortedByExpertThenSlot() {
        ExpertRange served = new ExpertRange(2, 5);
        int k = 2;
        int[] ids = {5, 2, -1, 2, 3, -1, 5, 5};
        RoutingPlan plan = RoutingPlan.of(Batches.of(0, 0, new float[0], 4, new int[] {2, 0}, k, ids,
                new float[8]), served);
        // Slots by expert: 2 <- slots 1, 3; 3 <- slot 4; 5 <- slots 0, 6, 7.
        assertThat(plan.slotRow()).containsExactly(0, 1, 2, 0, 3, 3);
        assertThat(plan.slotPos()).containsExactly(3, 0, -1, 1, 2, -1, 4, 5);
        assertThat(plan.sharedIndex()).containsExactly(2, 0);
        assertThat(plan.sharedPos()).containsExactly(1, -1, 0, -1);
        assertThat(plan.expertTiles().of(TilePath.GEMV2)).containsExactly(0, 0, 2, 1, 2, 3);
        assertThat(plan.expertTiles().of(TilePath.GEMV8)).containsExactly(3, 3, 6);
        assertThat(plan.sharedTiles().of(TilePath.GEMV2)).containsExactly(0, 0, 2);
    }

    @ParameterizedTest
    @CsvSource({"1, 0", "7, 0", "40, 0", "300, 0", "5, 1", "60, 1"})
    void theKernelContractsOverThePlanGiveTheCpuBackendsResult(int rows, int layer) {
        Random random = new Random(rows * 31L + layer);
        ExpertRange served = new ExpertRange(1, 6);
        LayerWeights l = model.weights.layers().get(layer);
        int hidden = model.shape.hidden();
        int k = l.isMoe() ? model.shape.topK() : 0;
        float[] x = RandomFrames.activations(random, rows, hidden);
        int[] ids = RandomFrames.expertIds(random, rows, k, served, 0.3, true);
        float[] weights = RandomFrames.expertWeights(random, rows * k);
        int[] shared = RandomFrames.sharedRows(random, rows);
        float[] expected = new CpuFfnBackend(model.config, model.weights, served)
                .compute(Batches.of(hidden, layer, x, rows, shared, k, ids, weights));

        RoutingPlan plan = RoutingPlan.of(Batches.of(0, 0, new float[0], rows, shared, k, ids, weights), served);
        MlpWeights sharedMlp = l.isMoe() ? l.moe().shared() : l.dense();
        float[] sharedOut = mlpOverTiles(e -> sharedMlp, x, plan.sharedIndex(), plan.sharedTiles(),
                plan.sharedCount(), hidden);
        float[] y = mlpOverTiles(e -> l.moe().expert(served.first() + e), x, plan.slotRow(), plan.expertTiles(),
                plan.routedCount(), hidden);
        float[] actual = combine(plan, sharedOut, y, hidden);

        double scale = RandomFrames.scale(expected);
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual[i]).as("element %d", i).isCloseTo(expected[i], within((float) (1e-5 * scale)));
        }
    }

    /** ffn_gate_up_* then ffn_down_*: every position of every tile through its expert's MLP, each exactly once. */
    private static float[] mlpOverTiles(IntFunction<MlpWeights> expert, float[] x, int[] rowIndex, Tiles tiles,
            int positions, int hidden) {
        float[] out = new float[positions * hidden];
        boolean[] done = new boolean[positions];
        for (TilePath path : TilePath.values()) {
            int[] t = tiles.of(path);
            for (int i = 0; i < t.length; i += 3) {
                assertThat(t[i + 2] - t[i + 1]).isBetween(1, path.maxRows);
                for (int p = t[i + 1]; p < t[i + 2]; p++) {
                    assertThat(done[p]).isFalse();
                    done[p] = true;
                    float[] y = new float[hidden];
                    Mlp.forward(expert.apply(t[i]),
                            Arrays.copyOfRange(x, rowIndex[p] * hidden, (rowIndex[p] + 1) * hidden), 1, y);
                    System.arraycopy(y, 0, out, p * hidden, hidden);
                }
            }
        }
        assertThat(done).doesNotContain(false);
        return out;
    }

    /** ffn_combine. */
    private static float[] combine(RoutingPlan plan, float[] sharedOut, float[] y, int hidden) {
        float[] out = new float[plan.rows() * hidden];
        for (int r = 0; r < plan.rows(); r++) {
            for (int c = 0; c < hidden; c++) {
                int sp = plan.sharedPos()[r];
                float v = sp >= 0 ? sharedOut[sp * hidden + c] : 0;
                for (int j = 0; j < plan.k(); j++) {
                    int p = plan.slotPos()[r * plan.k() + j];
                    if (p >= 0) {
                        v = Math.fma(plan.slotWeight()[r * plan.k() + j], y[p * hidden + c], v);
                    }
                }
                out[r * hidden + c] = v;
            }
        }
        return out;
    }
}
