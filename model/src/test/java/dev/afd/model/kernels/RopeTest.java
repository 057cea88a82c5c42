package dev.afd.model.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RopeTest {
    private static final double THETA = 500_000;

    @ParameterizedTest
    @ValueSource(ints = {2, 6, 34, 64, 256})
    void matchesNeoxReference(int headDim) {
        Random random = new Random(headDim);
        Rope rope = new Rope(headDim, THETA);
        int heads = 3;
        int off = 5;
        for (int pos : new int[] {0, 1, 7, 100, 4095, 65_535}) {
            float[] x = TestTensors.random(random, off + heads * headDim + 2);
            float[] original = x.clone();
            rope.apply(x, off, heads, pos);
            for (int h = 0; h < heads; h++) {
                double[] expected = neox(original, off + h * headDim, headDim, pos);
                for (int d = 0; d < headDim; d++) {
                    assertThat((double) x[off + h * headDim + d]).as("pos %d head %d dim %d", pos, h, d)
                            .isCloseTo(expected[d], within(1e-6));
                }
            }
            assertThat(x[0]).isEqualTo(original[0]);
            assertThat(x[x.length - 1]).isEqualTo(original[x.length - 1]);
        }
    }

    @Test
    void interleavedPairingGivesDifferentResults() {
        int headDim = 64;
        Rope rope = new Rope(headDim, THETA);
        float[] x = TestTensors.random(new Random(9), headDim);
        float[] rotated = x.clone();
        rope.apply(rotated, 0, 1, 5);
        double[] interleaved = interleaved(x, headDim, 5);
        double maxDifference = 0;
        for (int d = 0; d < headDim; d++) {
            maxDifference = Math.max(maxDifference, Math.abs(rotated[d] - interleaved[d]));
        }
        assertThat(maxDifference).isGreaterThan(0.1);
    }

    @Test
    void concurrentCallersAtGrowingPositionsAllSeeCorrectTables() throws Exception {
        int headDim = 32;
        Rope rope = new Rope(headDim, THETA);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int seed = t;
                done.add(pool.submit(() -> {
                    Random random = new Random(seed);
                    for (int i = 0; i < 300; i++) {
                        int pos = random.nextInt(20_000);
                        float[] x = TestTensors.random(random, headDim);
                        double[] expected = neox(x, 0, headDim, pos);
                        rope.apply(x, 0, 1, pos);
                        for (int d = 0; d < headDim; d++) {
                            assertThat((double) x[d]).isCloseTo(expected[d], within(1e-6));
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void rejectsBadArguments() {
        assertThatThrownBy(() -> new Rope(7, THETA)).isInstanceOf(IllegalArgumentException.class);
        Rope rope = new Rope(8, THETA);
        assertThatThrownBy(() -> rope.apply(new float[8], 0, 1, -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> rope.apply(new float[15], 0, 2, 0)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    /** Rotate-half: (d, d + half) pairs, angles in double, cos/sin rounded to f32 as the kernel's table is. */
    private static double[] neox(float[] x, int off, int headDim, int pos) {
        int half = headDim / 2;
        double[] out = new double[headDim];
        for (int j = 0; j < half; j++) {
            double angle = pos * Math.pow(THETA, -2.0 * j / headDim);
            double c = (float) Math.cos(angle);
            double s = (float) Math.sin(angle);
            double a = x[off + j];
            double b = x[off + j + half];
            out[j] = a * c - b * s;
            out[j + half] = b * c + a * s;
        }
        return out;
    }

    /** The GPT-J pairing (2j, 2j+1), which Step-3 does not use. */
    private static double[] interleaved(float[] x, int headDim, int pos) {
        double[] out = new double[headDim];
        for (int j = 0; j < headDim / 2; j++) {
            double angle = pos * Math.pow(THETA, -2.0 * j / headDim);
            double a = x[2 * j];
            double b = x[2 * j + 1];
            out[2 * j] = a * Math.cos(angle) - b * Math.sin(angle);
            out[2 * j + 1] = b * Math.cos(angle) + a * Math.sin(angle);
        }
        return out;
    }
}
