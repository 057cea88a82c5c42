package dev.afd.model.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.afd.model.tensor.DType;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class MlpTest {
    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (DType t : DType.values()) {
            for (int[] hi : new int[][] {{17, 33}, {64, 40}, {100, 7}}) {
                for (int rows : new int[] {1, 2, 3, 5, 17}) {
                    cases.add(Arguments.of(t, hi[0], hi[1], rows));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} H={1} I={2} rows={3}")
    @MethodSource("cases")
    void matchesDoubleReference(DType t, int hidden, int inter, int rows) {
        Random random = new Random(hidden * 7L + inter + rows);
        try (Arena arena = Arena.ofShared()) {
            MlpWeights w = randomMlp(arena, t, random, hidden, inter);
            float[] x = TestTensors.random(random, rows * hidden);
            float[] out = new float[rows * hidden];
            Mlp.forward(w, x, rows, out);
            double[] expected = TestTensors.mlp(TestTensors.values(w.gate()), TestTensors.values(w.up()),
                    TestTensors.values(w.down()), hidden, inter, x, rows);
            // Errors of the first two products pass through silu and the third product: a looser bound.
            double scale = 0;
            for (double e : expected) {
                scale = Math.max(scale, Math.abs(e));
            }
            for (int i = 0; i < expected.length; i++) {
                assertThat((double) out[i]).as("element %d", i).isCloseTo(expected[i], within(2e-5 * scale));
            }
        }
    }

    /** Clamped SwiGLU (Step-3.5): min(silu(g), L) * clamp(u, -L, L), with a limit low enough to bite on most rows. */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(value = DType.class, names = {"F32", "BF16"})
    void clampedMatchesDoubleReference(DType t) {
        int hidden = 40;
        int inter = 24;
        int rows = 5;
        float limit = 0.4f;
        Random random = new Random(77 + t.ordinal());
        try (Arena arena = Arena.ofShared()) {
            MlpWeights plain = randomMlp(arena, t, random, hidden, inter);
            MlpWeights w = new MlpWeights(plain.gate(), plain.up(), plain.down(), limit);
            float[] x = TestTensors.random(random, rows * hidden);
            for (int i = 0; i < x.length; i++) {
                x[i] *= 8;
            }
            float[] out = new float[rows * hidden];
            Mlp.forward(w, x, rows, out);
            float[] unclamped = new float[rows * hidden];
            Mlp.forward(plain, x, rows, unclamped);
            double[] g = TestTensors.matmul(TestTensors.values(w.gate()), inter, hidden, x, rows);
            double[] u = TestTensors.matmul(TestTensors.values(w.up()), inter, hidden, x, rows);
            float[] down = TestTensors.values(w.down());
            int clamped = 0;
            double[] mid = new double[rows * inter];
            for (int i = 0; i < mid.length; i++) {
                double silu = g[i] / (1 + Math.exp(-g[i]));
                if (silu > limit || Math.abs(u[i]) > limit) {
                    clamped++;
                }
                mid[i] = Math.min(silu, limit) * Math.max(-limit, Math.min(limit, u[i]));
            }
            assertThat(clamped).as("elements the clamp changes").isGreaterThan(mid.length / 4);
            double scale = 0;
            double[] expected = new double[rows * hidden];
            for (int r = 0; r < rows; r++) {
                for (int o = 0; o < hidden; o++) {
                    for (int i = 0; i < inter; i++) {
                        expected[r * hidden + o] += down[o * inter + i] * mid[r * inter + i];
                    }
                    scale = Math.max(scale, Math.abs(expected[r * hidden + o]));
                }
            }
            for (int i = 0; i < expected.length; i++) {
                assertThat((double) out[i]).as("element %d", i).isCloseTo(expected[i], within(2e-5 * scale));
            }
            assertThat(out).isNotEqualTo(unclamped);
        }
    }

    @org.junit.jupiter.api.Test
    void rejectsANegativeLimit() {
        try (Arena arena = Arena.ofShared()) {
            MlpWeights w = randomMlp(arena, DType.F32, new Random(1), 4, 4);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> new MlpWeights(w.gate(), w.up(), w.down(), -1f))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    /** Batch invariance: each row's output is the same bits alone as inside a batch of rows. */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(DType.class)
    void eachRowIsTheSameBitsInEveryBatch(DType t) {
        int hidden = 37;
        int inter = 45;
        int rows = 11;
        Random random = new Random(t.ordinal());
        try (Arena arena = Arena.ofShared()) {
            MlpWeights w = randomMlp(arena, t, random, hidden, inter);
            float[] x = TestTensors.random(random, rows * hidden);
            float[] out = new float[rows * hidden];
            Mlp.forward(w, x, rows, out);
            float[] single = new float[hidden];
            for (int r = 0; r < rows; r++) {
                Mlp.forward(w, java.util.Arrays.copyOfRange(x, r * hidden, (r + 1) * hidden), 1, single);
                TestTensors.assertSameBits(java.util.Arrays.copyOfRange(out, r * hidden, (r + 1) * hidden), single,
                        "row %d", r);
            }
        }
    }

    /** Several MLPs in one call (joined projections) give each exactly its own call's bits. */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(DType.class)
    void severalMlpsTogetherEqualEachAlone(DType t) {
        int hidden = 37;
        int inter = 45;
        Random random = new Random(31 + t.ordinal());
        try (Arena arena = Arena.ofShared()) {
            List<Mlp.Call> calls = new ArrayList<>();
            for (int rows : new int[] {1, 4, 0, 9}) {
                calls.add(new Mlp.Call(randomMlp(arena, t, random, hidden, inter),
                        TestTensors.random(random, rows * hidden), rows, new float[rows * hidden]));
            }
            Mlp.forward(calls);
            for (Mlp.Call c : calls) {
                float[] alone = new float[c.out().length];
                Mlp.forward(c.w(), c.x(), c.rows(), alone);
                TestTensors.assertSameBits(c.out(), alone, "MLP over %d rows", c.rows());
            }
        }
    }

    private static MlpWeights randomMlp(Arena arena, DType t, Random random, int hidden, int inter) {
        return new MlpWeights(TestTensors.randomTensor(arena, t, random, inter, hidden),
                TestTensors.randomTensor(arena, t, random, inter, hidden),
                TestTensors.randomTensor(arena, t, random, hidden, inter));
    }
}
