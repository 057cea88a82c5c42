package dev.afd.model.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SoftmaxTest {
    @ParameterizedTest
    @ValueSource(ints = {1, 7, 15, 16, 17, 33, 100, 1003})
    void softmaxMatchesDoubleReference(int n) {
        Random random = new Random(n);
        int off = 3;
        float[] x = scaled(TestTensors.random(random, n + 5), 20);
        float[] original = x.clone();
        Softmax.softmax(x, off, n);
        double[] expected = softmax(original, off, n);
        for (int i = 0; i < n; i++) {
            assertThat((double) x[off + i]).as("element %d", i)
                    .isCloseTo(expected[i], within(1e-5 * expected[i] + 1e-30));
        }
        assertUntouchedOutside(x, original, off, n);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 15, 16, 17, 33, 100, 1003})
    void logSoftmaxMatchesDoubleReference(int n) {
        Random random = new Random(n + 100);
        float[] x = scaled(TestTensors.random(random, n + 2), 20);
        float[] out = new float[n + 9];
        Softmax.logSoftmax(x, 2, n, out, 9);
        double[] expected = softmax(x, 2, n);
        for (int i = 0; i < n; i++) {
            assertThat((double) out[9 + i]).as("element %d", i)
                    .isCloseTo(Math.log(expected[i]), within(1e-5 * Math.max(1, Math.abs(Math.log(expected[i])))));
        }
        float[] inPlace = x.clone();
        Softmax.logSoftmax(inPlace, 2, n, inPlace, 2);
        for (int i = 0; i < n; i++) {
            assertThat(inPlace[2 + i]).isEqualTo(out[9 + i]);
        }
    }

    @Test
    void largeLogitsDoNotOverflow() {
        float[] x = {1000f, 999f, 1000f, -1000f};
        Softmax.softmax(x, 0, 4);
        double e = Math.exp(-1);
        assertThat(x[0]).isCloseTo((float) (1 / (2 + e)), within(1e-6f));
        assertThat(x[1]).isCloseTo((float) (e / (2 + e)), within(1e-6f));
        assertThat(x[3]).isZero();
        float[] logs = new float[4];
        Softmax.logSoftmax(new float[] {1000f, 999f, 1000f, -1000f}, 0, 4, logs, 0);
        assertThat(logs[0]).isCloseTo((float) -Math.log(2 + e), within(1e-5f));
    }

    private static double[] softmax(float[] x, int off, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        double sum = 0;
        double[] e = new double[n];
        for (int i = 0; i < n; i++) {
            e[i] = Math.exp(x[off + i] - max);
            sum += e[i];
        }
        for (int i = 0; i < n; i++) {
            e[i] /= sum;
        }
        return e;
    }

    private static float[] scaled(float[] a, float factor) {
        for (int i = 0; i < a.length; i++) {
            a[i] *= factor;
        }
        return a;
    }

    private static void assertUntouchedOutside(float[] x, float[] original, int off, int n) {
        for (int i = 0; i < x.length; i++) {
            if (i < off || i >= off + n) {
                assertThat(x[i]).isEqualTo(original[i]);
            }
        }
    }
}
