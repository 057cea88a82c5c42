package dev.afd.model.kernels;

import static dev.afd.model.kernels.Widen.F;
import static dev.afd.model.kernels.Widen.LANES;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Softmax and log-softmax over a contiguous range, both shifted by the maximum so exp never overflows. */
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
        int bound = F.loopBound(n);
        int i = 0;
        for (; i < bound; i += LANES) {
            FloatVector e = FloatVector.fromArray(F, x, off + i).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(x, off + i);
            sums = sums.add(e);
        }
        float sum = sums.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float e = (float) Math.exp(x[off + i] - max);
            x[off + i] = e;
            sum += e;
        }
        float inverse = 1f / sum;
        for (i = 0; i < bound; i += LANES) {
            FloatVector.fromArray(F, x, off + i).mul(inverse).intoArray(x, off + i);
        }
        for (; i < n; i++) {
            x[off + i] *= inverse;
        }
    }

    /**
     * {@code out[outOff + i] = x[off + i] - max - log(sum_j exp(x[j] - max))}; the exponentials are f32, their sum
     * is accumulated in double. {@code out} may be the same range as x.
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
        int bound = F.loopBound(n);
        int i = 0;
        for (; i < bound; i += LANES) {
            FloatVector e = FloatVector.fromArray(F, x, off + i).sub(max).lanewise(VectorOperators.EXP);
            low = low.add(e.convertShape(VectorOperators.F2D, D, 0));
            high = high.add(e.convertShape(VectorOperators.F2D, D, 1));
        }
        double sum = low.add(high).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum += Math.exp(x[off + i] - max);
        }
        float logSum = (float) Math.log(sum);
        for (i = 0; i < bound; i += LANES) {
            FloatVector.fromArray(F, x, off + i).sub(max).sub(logSum).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = x[off + i] - max - logSum;
        }
    }

    static float max(float[] x, int off, int n) {
        FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int bound = F.loopBound(n);
        int i = 0;
        for (; i < bound; i += LANES) {
            m = m.max(FloatVector.fromArray(F, x, off + i));
        }
        float max = m.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        return max;
    }

    private static void checkRange(float[] a, int off, int n) {
        if (off < 0 || n < 0 || off > a.length - n) {
            throw new IndexOutOfBoundsException("range [" + off + ", " + off + " + " + n + ") outside an array of "
                    + a.length);
        }
    }
}
