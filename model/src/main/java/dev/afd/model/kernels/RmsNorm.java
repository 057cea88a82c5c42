package dev.afd.model.kernels;

import static dev.afd.model.kernels.Widen.F;
import static dev.afd.model.kernels.Widen.LANES;

import dev.afd.model.tensor.Tensor;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Root-mean-square normalisation, with a plain weight ({@code * w}, as Step-3 uses it everywhere) or a zero-centred one
 * ({@code * (1 + w)}, as Step-3.5 does).
 */
public final class RmsNorm {
    private static final VectorSpecies<Double> D = VectorSpecies.of(double.class, F.vectorShape());

    private RmsNorm() {}

    /**
     * For each row r < rows of width n = w.elementCount(): {@code out = x / sqrt(mean(x^2) + eps) * w}. The sum of
     * squares is accumulated in double, the scaling is f32. A row's result depends on that row alone, never on the
     * other rows or the thread count. {@code out} may be the same array as {@code x}.
     */
    public static void rmsNorm(float[] x, int rows, Tensor w, float eps, float[] out) {
        norm(x, rows, w, false, eps, out);
    }

    /**
     * As {@link #rmsNorm} with a zero-centred weight: {@code out = x / sqrt(mean(x^2) + eps) * (1 + w)}, the
     * {@code 1 + w} added in f32 once per weight element.
     */
    public static void rmsNormZeroCentred(float[] x, int rows, Tensor w, float eps, float[] out) {
        norm(x, rows, w, true, eps, out);
    }

    private static void norm(float[] x, int rows, Tensor w, boolean zeroCentred, float eps, float[] out) {
        int n = Math.toIntExact(w.elementCount());
        if (rows < 0 || (long) rows * n > x.length || (long) rows * n > out.length) {
            throw new IllegalArgumentException("rmsNorm over " + rows + " rows of " + w + " needs x and out of at least "
                    + (long) rows * n + " floats, got " + x.length + " and " + out.length);
        }
        float[] weight = new float[n]; // widened once: n floats, read again by every row
        Widen.toFloats(w.dtype(), w.data(), 0, weight, 0, n);
        if (zeroCentred) {
            for (int i = 0; i < n; i++) {
                weight[i] += 1f;
            }
        }
        Parallel.forRange(rows, Math.max(1, 65_536 / Math.max(1, n)), (from, to) -> {
            for (int r = from; r < to; r++) {
                normRow(x, r * n, n, weight, eps, out);
            }
        });
    }

    private static void normRow(float[] x, int off, int n, float[] weight, float eps, float[] out) {
        double sumSquares = sumSquares(x, off, n);
        float scale = (float) (1.0 / Math.sqrt(sumSquares / n + eps));
        for (int i = 0; i < n; i += LANES) {
            VectorMask<Float> in = F.indexInRange(i, n);
            FloatVector.fromArray(F, x, off + i, in).mul(scale).mul(FloatVector.fromArray(F, weight, i, in))
                    .intoArray(out, off + i, in);
        }
    }

    /**
     * Sum of x^2 over x[off, off+n) in double lanes: lane l takes the elements i ≡ l (mod L) in increasing i (the
     * last vector masked, so no element takes another path), then the fixed tree of {@link Lanes}.
     */
    private static double sumSquares(float[] x, int off, int n) {
        DoubleVector low = DoubleVector.zero(D);
        DoubleVector high = low;
        for (int i = 0; i < n; i += LANES) {
            FloatVector v = FloatVector.fromArray(F, x, off + i, F.indexInRange(i, n));
            DoubleVector a = (DoubleVector) v.convertShape(VectorOperators.F2D, D, 0);
            DoubleVector b = (DoubleVector) v.convertShape(VectorOperators.F2D, D, 1);
            low = a.fma(a, low);
            high = b.fma(b, high);
        }
        return Lanes.sum(low.add(high));
    }
}
