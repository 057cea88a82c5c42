package dev.afd.model.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.afd.model.ffn.Routing;
import dev.afd.model.tensor.DType;
import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MoeDispatchTest {
    private static final int EXPERTS = 6;
    private static final int HIDDEN = 17;
    private static final int INTER = 9;

    private static MoeWeights weights(Arena arena, Random random) {
        DType t = DType.BF16;
        MlpWeights shared = new MlpWeights(TestTensors.randomTensor(arena, t, random, INTER, HIDDEN),
                TestTensors.randomTensor(arena, t, random, INTER, HIDDEN),
                TestTensors.randomTensor(arena, t, random, HIDDEN, INTER));
        return new MoeWeights(TestTensors.randomTensor(arena, t, random, EXPERTS, HIDDEN),
                TestTensors.randomTensor(arena, t, random, EXPERTS, INTER, HIDDEN),
                TestTensors.randomTensor(arena, t, random, EXPERTS, INTER, HIDDEN),
                TestTensors.randomTensor(arena, t, random, EXPERTS, HIDDEN, INTER), shared);
    }

    /** Against a naive loop: every (row, choice) through its expert alone, added in choice order. */
    @ParameterizedTest
    @ValueSource(ints = {1, 3, 17, 40})
    void matchesPerRowLoop(int rows) {
        Random random = new Random(rows);
        int k = 3;
        try (Arena arena = Arena.ofShared()) {
            MoeWeights w = weights(arena, random);
            float[] x = TestTensors.random(random, rows * HIDDEN);
            int[] experts = new int[rows * k];
            float[] gates = TestTensors.random(random, rows * k);
            for (int s = 0; s < experts.length; s++) {
                // Expert 5 is never chosen, -1 skips a choice, duplicates within a row are allowed.
                experts[s] = random.nextInt(6) - 1;
            }
            experts[0] = 2;
            float[] out = TestTensors.random(random, rows * HIDDEN); // results are added to what is there
            float[] expected = out.clone();
            MoeDispatch.forward(w, x, new Routing(rows, k, experts, gates), out);

            float[] single = new float[HIDDEN];
            for (int r = 0; r < rows; r++) {
                float[] row = java.util.Arrays.copyOfRange(x, r * HIDDEN, (r + 1) * HIDDEN);
                for (int j = 0; j < k; j++) {
                    int e = experts[r * k + j];
                    if (e < 0) {
                        continue;
                    }
                    Mlp.forward(w.expert(e), row, 1, single);
                    for (int i = 0; i < HIDDEN; i++) {
                        expected[r * HIDDEN + i] += gates[r * k + j] * single[i];
                    }
                }
            }
            for (int i = 0; i < out.length; i++) {
                assertThat(out[i]).as("element %d", i).isCloseTo(expected[i], within(1e-5f));
            }
        }
    }

    /** Batch invariance: a row gets the same bits alone as among other rows that share or split its experts. */
    @Test
    void eachRowIsTheSameBitsInEveryBatch() {
        int rows = 23;
        int k = 3;
        Random random = new Random(9);
        try (Arena arena = Arena.ofShared()) {
            MoeWeights w = weights(arena, random);
            float[] x = TestTensors.random(random, rows * HIDDEN);
            int[] experts = new int[rows * k];
            for (int s = 0; s < experts.length; s++) {
                experts[s] = random.nextInt(EXPERTS);
            }
            float[] gates = TestTensors.random(random, rows * k);
            float[] start = TestTensors.random(random, rows * HIDDEN);
            float[] out = start.clone();
            MoeDispatch.forward(w, x, new Routing(rows, k, experts, gates), out);
            for (int r = 0; r < rows; r++) {
                float[] alone = java.util.Arrays.copyOfRange(start, r * HIDDEN, (r + 1) * HIDDEN);
                MoeDispatch.forward(w, java.util.Arrays.copyOfRange(x, r * HIDDEN, (r + 1) * HIDDEN),
                        new Routing(1, k, java.util.Arrays.copyOfRange(experts, r * k, (r + 1) * k),
                                java.util.Arrays.copyOfRange(gates, r * k, (r + 1) * k)), alone);
                TestTensors.assertSameBits(java.util.Arrays.copyOfRange(out, r * HIDDEN, (r + 1) * HIDDEN), alone,
                        "row %d", r);
            }
        }
    }

    @Test
    void allSkippedLeavesOutputUnchanged() {
        try (Arena arena = Arena.ofConfined()) {
            MoeWeights w = weights(arena, new Random(2));
            float[] out = {1, 2, 3};
            out = java.util.Arrays.copyOf(out, 2 * HIDDEN);
            float[] before = out.clone();
            MoeDispatch.forward(w, new float[2 * HIDDEN], new Routing(2, 2, new int[] {-1, -1, -1, -1}, new float[4]),
                    out);
            assertThat(out).containsExactly(before);
        }
    }

    @Test
    void rejectsUnknownExperts() {
        try (Arena arena = Arena.ofConfined()) {
            MoeWeights w = weights(arena, new Random(3));
            assertThatThrownBy(() -> MoeDispatch.forward(w, new float[HIDDEN], new Routing(1, 1, new int[] {EXPERTS},
                    new float[1]), new float[HIDDEN])).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("expert " + EXPERTS);
        }
    }
}
