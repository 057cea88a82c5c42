package dev.afd.model.kernels;

import static dev.afd.model.kernels.Widen.F;
import static dev.afd.model.kernels.Widen.LANES;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Softmax and log-softmax over a contiguous range, both shifted by the maximum so exp never overflows.
 *
 * <p>Deterministic: element i always goes through the same lane-wise operations ({@link Lanes#exp}; the last partial
 * vector is masked rather than finished in scalar code), lane l sums the elements i ≡ l (mod L) in increasing i,
 * and the lanes are summed by the fixed tree of {@link Lanes}.
 */
public final class Softmax {
    private static final VectorSpecies<Double> D = VectorSpecies.of(double.class, F.vectorShape());

    private Softmax() {}

    /** In place: {@code x[i] = exp(x[i] - max) / sum_j exp(x[j] - max)} over x[off, off+n); exp and sum in f32. */
    public static void softmax(float[] x, int off, int n) {
        checkRange(x, off, n);
        if (n == 0) {
            return;
        }
        float max = max(x, off, n);
        FloatVector sums = FloatVector.zero(F);
        for (int i = 0; i < n; i += LANES) {
            VectorMask<Float> in = F.indexInRange(i, n);
            FloatVector e = Lanes.exp(FloatVector.fromArray(F, x, off + i, in).sub(max));
            e.intoArray(x, off + i, in);
            sums = sums.add(e, in);
        }
        float inverse = 1f / Lanes.sum(sums);
        for (int i = 0; i < n; i += LANES) {
            VectorMask<Float> in = F.indexInRange(i, n);
            FloatVector.fromArray(F, x, off + i, in).mul(inverse).intoArray(x, off + i, in);
        }
    }

    /**
     * {@code out[outOff + i] = x[off + i] - max - log(sum_j exp(x[j] - max))}; the exponentials are f32, their sum
     * is accumulated in double (lane l: the elements i ≡ l (mod L), as two double vectors). {@code out} may be the
     * same range as x.
     */
    public static void logSoftmax(float[] x, int off, int n, float[] out, int outOff) {
        checkRange(x, off, n);
        checkRange(out, outOff, n);
        if (n == 0) {
            return;
        }
        float max = max(x, off, n);
        DoubleVector low = DoubleVector.zero(D);
        DoubleVector high = low;
        for (int i = 0; i < n; i += LANES) {
            VectorMask<Float> in = F.indexInRange(i, n);
            // Masked-off lanes load as 0 and become exp(-max); they are zeroed before the sum.
            FloatVector e = Lanes.exp(FloatVector.fromArray(F, x, off + i, in).sub(max)).blend(0f, in.not());
            low = low.add(e.convertShape(VectorOperators.F2D, D, 0));
            high = high.add(e.convertShape(VectorOperators.F2D, D, 1));
        }
        float logSum = (float) StrictMath.log(Lanes.sum(low.add(high)));
        for (int i = 0; i < n; i += LANES) {
            VectorMask<Float> in = F.indexInRange(i, n);
            FloatVector.fromArray(F, x, off + i, in).sub(max).sub(logSum).intoArray(out, outOff + i, in);
        }
    }

    /** The largest of x[off, off+n), n > 0; NaN if any is NaN. */
    static float max(float[] x, int off, int n) {
        FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < n; i += LANES) {
            VectorMask<Float> in = F.indexInRange(i, n);
            m = m.max(FloatVector.fromArray(F, x, off + i, in).blend(Float.NEGATIVE_INFINITY, in.not()));
        }
        return Lanes.max(m);
    }

    private static void checkRange(float[] a, int off, int n) {
        if (off < 0 || n < 0 || off > a.length - n) {
            throw new IndexOutOfBoundsException("range [" + off + ", " + off + " + " + n + ") outside an array of "
                    + a.length);
        }
    }
}
