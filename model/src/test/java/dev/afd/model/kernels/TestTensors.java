package dev.afd.model.kernels;

import dev.afd.model.tensor.DType;
import dev.afd.model.tensor.Halfs;
import dev.afd.model.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

/** Test tensors in off-heap memory, and plain double-precision references to check the kernels against. */
final class TestTensors {
    private TestTensors() {}

    /**
     * Where test tensors live: confined memory may only be read by the test thread, so kernels must then run on it
     * alone; shared memory exercises the multi-threaded paths.
     */
    enum Memory {
        CONFINED,
        SHARED;

        Arena open() {
            return this == CONFINED ? Arena.ofConfined() : Arena.ofShared();
        }
    }

    /** A tensor of {@code values} rounded to {@code t}; read back the stored values with {@link #values}. */
    static Tensor tensor(Arena arena, DType t, float[] values, long... shape) {
        MemorySegment data = arena.allocate((long) values.length * t.byteSize(), 64);
        store(t, data, values);
        return new Tensor("test", t, shape, data);
    }

    static void store(DType t, MemorySegment data, float[] values) {
        for (int i = 0; i < values.length; i++) {
            switch (t) {
                case BF16 -> data.set(Tensor.SHORT_LE, 2L * i, Halfs.floatToBf16(values[i]));
                case F16 -> data.set(Tensor.SHORT_LE, 2L * i, Halfs.floatToF16(values[i]));
                case F32 -> data.set(Tensor.FLOAT_LE, 4L * i, values[i]);
            }
        }
    }

    /** Every element of t as stored, widened to f32. */
    static float[] values(Tensor t) {
        float[] v = new float[Math.toIntExact(t.elementCount())];
        t.copyTo(0, v, 0, v.length);
        return v;
    }

    /** A random tensor of the given shape, values uniform in [-1, 1). */
    static Tensor randomTensor(Arena arena, DType t, Random random, long... shape) {
        long count = 1;
        for (long d : shape) {
            count *= d;
        }
        return tensor(arena, t, random(random, Math.toIntExact(count)), shape);
    }

    static float[] random(Random random, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = random.nextFloat() * 2 - 1;
        }
        return a;
    }

    /** Fails unless the two arrays hold the same bits, naming the first element that differs. */
    static void assertSameBits(float[] actual, float[] expected, String what, Object... args) {
        org.assertj.core.api.Assertions.assertThat(actual.length).as(what, args).isEqualTo(expected.length);
        for (int i = 0; i < actual.length; i++) {
            int a = Float.floatToRawIntBits(actual[i]);
            int e = Float.floatToRawIntBits(expected[i]);
            if (a != e) {
                org.assertj.core.api.Assertions.fail("%s: element %d is %s (0x%08x), expected %s (0x%08x)",
                        String.format(what, args), i, actual[i], a, expected[i], e);
            }
        }
    }

    /** out[r*n + o] = sum_i w[o*k + i] * x[r*k + i], in double. */
    static double[] matmul(float[] w, int n, int k, float[] x, int rows) {
        double[] out = new double[rows * n];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < n; o++) {
                double sum = 0;
                for (int i = 0; i < k; i++) {
                    sum += (double) w[o * k + i] * x[r * k + i];
                }
                out[r * n + o] = sum;
            }
        }
        return out;
    }

    /** sum_i |w[o,i] * x[r,i]|: the scale that bounds the rounding error of an f32 dot product. */
    static double[] absMatmul(float[] w, int n, int k, float[] x, int rows) {
        float[] absW = new float[w.length];
        float[] absX = new float[x.length];
        for (int i = 0; i < w.length; i++) {
            absW[i] = Math.abs(w[i]);
        }
        for (int i = 0; i < x.length; i++) {
            absX[i] = Math.abs(x[i]);
        }
        return matmul(absW, n, k, absX, rows);
    }

    /** silu(g) * u in double. */
    static double siluTimes(double g, double u) {
        return g / (1 + Math.exp(-g)) * u;
    }

    /** The SiLU-gated MLP in double: down(silu(gate x) * (up x)) for rows rows of width h. */
    static double[] mlp(float[] gate, float[] up, float[] down, int h, int inter, float[] x, int rows) {
        double[] g = matmul(gate, inter, h, x, rows);
        double[] u = matmul(up, inter, h, x, rows);
        double[] mid = new double[rows * inter];
        for (int i = 0; i < mid.length; i++) {
            mid[i] = siluTimes(g[i], u[i]);
        }
        double[] out = new double[rows * h];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < h; o++) {
                double sum = 0;
                for (int i = 0; i < inter; i++) {
                    sum += down[o * inter + i] * mid[r * inter + i];
                }
                out[r * h + o] = sum;
            }
        }
        return out;
    }
}
