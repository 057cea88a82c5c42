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

    /** Partial rotary (Step-3.5): the leading rotaryDim dimensions rotate at frequencies of rotaryDim, the rest pass. */
    @ParameterizedTest
    @ValueSource(ints = {2, 16, 32, 64})
    void partialRotaryMatchesReference(int rotaryDim) {
        int headDim = 64;
        double theta = 10_000;
        Random random = new Random(rotaryDim);
        Rope rope = new Rope(headDim, rotaryDim, theta, null);
        int heads = 2;
        for (int pos : new int[] {0, 3, 513}) {
            float[] x = TestTensors.random(random, heads * headDim);
            float[] original = x.clone();
            rope.apply(x, 0, heads, pos);
            for (int h = 0; h < heads; h++) {
                double[] expected = reference(original, h * headDim, headDim, rotaryDim, pos, theta, null);
                for (int d = 0; d < headDim; d++) {
                    assertThat((double) x[h * headDim + d]).as("pos %d head %d dim %d", pos, h, d)
                            .isCloseTo(expected[d], within(1e-6));
                }
            }
        }
    }

    /** llama3 scaling: frequencies of long wavelengths divided by the factor, short ones kept, the middle blended. */
    @Test
    void llama3ScalingMatchesReference() {
        int headDim = 64;
        double theta = 5_000_000;
        Rope.Llama3Scaling scaling = new Rope.Llama3Scaling(8, 1, 4, 64);
        Rope scaled = new Rope(headDim, 32, theta, scaling);
        Rope plain = new Rope(headDim, 32, theta, null);
        float[] x = TestTensors.random(new Random(3), headDim);
        float[] a = x.clone();
        float[] b = x.clone();
        int pos = 1000;
        scaled.apply(a, 0, 1, pos);
        plain.apply(b, 0, 1, pos);
        double[] expected = reference(x, 0, headDim, 32, pos, theta, scaling);
        for (int d = 0; d < headDim; d++) {
            assertThat((double) a[d]).as("dim %d", d).isCloseTo(expected[d], within(1e-6));
        }
        assertThat(a).isNotEqualTo(b);
        // The highest frequency's wavelength (2 pi) is below 64 / 4: that pair is not rescaled.
        assertThat(a[0]).isEqualTo(b[0]);
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
        assertThatThrownBy(() -> new Rope(8, 10, THETA, null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Rope.Llama3Scaling(8, 4, 1, 64)).isInstanceOf(IllegalArgumentException.class);
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

    /** Rotate-half over the leading rotaryDim dimensions, llama3 scaling written out in double. */
    private static double[] reference(float[] x, int off, int headDim, int rotaryDim, int pos, double theta,
            Rope.Llama3Scaling scaling) {
        int half = rotaryDim / 2;
        double[] out = new double[headDim];
        for (int d = 0; d < headDim; d++) {
            out[d] = x[off + d];
        }
        for (int j = 0; j < half; j++) {
            double f = Math.pow(theta, -2.0 * j / rotaryDim);
            if (scaling != null) {
                double wavelength = 2 * Math.PI / f;
                double low = scaling.originalMaxPositions() / scaling.lowFreqFactor();
                double high = scaling.originalMaxPositions() / scaling.highFreqFactor();
                if (wavelength > low) {
                    f = f / scaling.factor();
                } else if (wavelength >= high) {
                    double smooth = (scaling.originalMaxPositions() / wavelength - scaling.lowFreqFactor())
                            / (scaling.highFreqFactor() - scaling.lowFreqFactor());
                    f = (1 - smooth) * f / scaling.factor() + smooth * f;
                }
            }
            double angle = pos * f;
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
