package dev.afd.model.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.afd.model.tensor.DType;
import dev.afd.model.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class RmsNormTest {
    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (TestTensors.Memory memory : TestTensors.Memory.values()) {
            for (DType t : DType.values()) {
                for (int n : new int[] {1, 7, 15, 17, 33, 100, 1003}) {
                    for (int rows : new int[] {1, 2, 3, 5, 17}) {
                        cases.add(Arguments.of(memory, t, n, rows));
                    }
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1} n={2} rows={3}")
    @MethodSource("cases")
    void matchesDoubleReference(TestTensors.Memory memory, DType t, int n, int rows) {
        Random random = new Random(n * 31L + rows);
        float eps = 1e-5f;
        try (Arena arena = memory.open()) {
            Tensor w = TestTensors.randomTensor(arena, t, random, n);
            float[] weight = TestTensors.values(w);
            float[] x = TestTensors.random(random, rows * n);
            for (int i = 0; i < x.length; i += 3) {
                x[i] *= 50; // rows of uneven magnitude
            }
            float[] out = new float[rows * n];
            RmsNorm.rmsNorm(x, rows, w, eps, out);
            float[] inPlace = x.clone();
            RmsNorm.rmsNorm(inPlace, rows, w, eps, inPlace);
            for (int r = 0; r < rows; r++) {
                double sum = 0;
                for (int i = 0; i < n; i++) {
                    sum += (double) x[r * n + i] * x[r * n + i];
                }
                double inverseRms = 1 / Math.sqrt(sum / n + eps);
                for (int i = 0; i < n; i++) {
                    double expected = x[r * n + i] * inverseRms * weight[i];
                    assertThat((double) out[r * n + i]).isCloseTo(expected, within(1e-5 * Math.abs(expected) + 1e-30));
                }
            }
            assertThat(inPlace).containsExactly(out);
        }
    }

    @Test
    void usesThePlainWeightNotOnePlusWeight() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor w = TestTensors.tensor(arena, DType.F32, new float[] {0.5f, 0.5f}, 2);
            float[] out = new float[2];
            RmsNorm.rmsNorm(new float[] {3, 4}, 1, w, 0f, out);
            double rms = Math.sqrt((9 + 16) / 2.0);
            assertThat(out[0]).isCloseTo((float) (3 / rms * 0.5), within(1e-6f));
            assertThat(out[1]).isCloseTo((float) (4 / rms * 0.5), within(1e-6f));
        }
    }

    @Test
    void zeroCentredScalesByOnePlusWeight() {
        Random random = new Random(5);
        int n = 37;
        int rows = 3;
        try (Arena arena = Arena.ofConfined()) {
            Tensor w = TestTensors.randomTensor(arena, DType.BF16, random, n);
            float[] weight = TestTensors.values(w);
            float[] x = TestTensors.random(random, rows * n);
            float[] out = new float[rows * n];
            RmsNorm.rmsNormZeroCentred(x, rows, w, 1e-6f, out);
            for (int r = 0; r < rows; r++) {
                double sum = 0;
                for (int i = 0; i < n; i++) {
                    sum += (double) x[r * n + i] * x[r * n + i];
                }
                double inverseRms = 1 / Math.sqrt(sum / n + 1e-6);
                for (int i = 0; i < n; i++) {
                    double expected = x[r * n + i] * inverseRms * (1.0 + weight[i]);
                    assertThat((double) out[r * n + i]).isCloseTo(expected, within(1e-5 * Math.abs(expected) + 1e-30));
                }
            }
        }
    }

    @Test
    void rejectsShortArrays() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor w = TestTensors.tensor(arena, DType.F32, new float[4], 4);
            assertThatThrownBy(() -> RmsNorm.rmsNorm(new float[7], 2, w, 1e-5f, new float[8]))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }
}
