package dev.afd.model.kernels;

import static dev.afd.model.kernels.Widen.F;
import static dev.afd.model.kernels.Widen.LANES;

import dev.afd.model.tensor.DType;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Matrix products for a few input rows, as dot products along the shared inner dimension: weights stream straight
 * from their memory (each loaded once per tile of up to four input rows) and every output gets one lane reduction.
 * This is the decode path, bound by memory bandwidth; sequential, callers split the output rows across threads.
 */
final class DotKernels {
    /** Weight rows per tile: four independent accumulator chains hide the FMA latency. */
    static final int TILE = 4;

    private DotKernels() {}

    /**
     * {@code out[outOff + r*outStride + o] = sum_i w[o,i] * x[xOff + r*k + i]} for input rows r < rows and output
     * rows o in [oFrom, oTo).
     *
     * <p>The range is cut into {@link #TILE} quarters and each tile takes one row from each quarter: the four row
     * streams then each read one long contiguous stretch of memory, which the hardware prefetchers follow far
     * better than four neighbouring rows.
     */
    static void range(RowMatrix w, float[] x, int xOff, int rows, float[] out, int outOff, int outStride,
            int oFrom, int oTo) {
        if (!Widen.loadable(w.dtype())) {
            throw new IllegalArgumentException("the streamed kernels read BF16 and F32 only, not " + w.dtype());
        }
        int k = w.cols();
        int quarter = (oTo - oFrom + TILE - 1) / TILE;
        for (int t = 0; t < quarter; t++) {
            int first = oFrom + t;
            int count = Math.min(TILE, (oTo - first + quarter - 1) / quarter);
            for (int r = 0; r < rows; r += 4) {
                int rowCount = Math.min(4, rows - r);
                if (rowCount == 1) {
                    tile4x1(w, first, quarter, count, x, xOff + r * k, out, outOff + r * outStride + first);
                } else {
                    tile4x4(w, first, quarter, count, x, xOff + r * k, rowCount, out,
                            outOff + r * outStride + first, outStride);
                }
            }
        }
    }

    /**
     * Weight rows first, first+step, ... (count ≤ 4 of them) against one input row. A short tile repeats its last
     * row so the loop stays four-wide; the repeated results are simply not stored.
     */
    private static void tile4x1(RowMatrix w, int first, int step, int count, float[] x, int xo, float[] out,
            int outAt) {
        DType t = w.dtype();
        MemorySegment seg = w.data();
        int k = w.cols();
        int es = t.byteSize();
        long b0 = w.offset(first, 0);
        long b1 = w.offset(first + Math.min(1, count - 1) * step, 0);
        long b2 = w.offset(first + Math.min(2, count - 1) * step, 0);
        long b3 = w.offset(first + Math.min(3, count - 1) * step, 0);
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        int bound = F.loopBound(k);
        int i = 0;
        for (; i < bound; i += LANES) {
            FloatVector xv = FloatVector.fromArray(F, x, xo + i);
            long d = (long) i * es;
            a0 = Widen.load(t, seg, b0 + d).fma(xv, a0);
            a1 = Widen.load(t, seg, b1 + d).fma(xv, a1);
            a2 = Widen.load(t, seg, b2 + d).fma(xv, a2);
            a3 = Widen.load(t, seg, b3 + d).fma(xv, a3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD);
        float s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD);
        float s3 = a3.reduceLanes(VectorOperators.ADD);
        for (; i < k; i++) {
            float xi = x[xo + i];
            long d = (long) i * es;
            s0 += Widen.get(t, seg, b0 + d) * xi;
            s1 += Widen.get(t, seg, b1 + d) * xi;
            s2 += Widen.get(t, seg, b2 + d) * xi;
            s3 += Widen.get(t, seg, b3 + d) * xi;
        }
        store(out, outAt, step, count, s0, s1, s2, s3);
    }

    /**
     * Like {@link #tile4x1} against input rows xo.. (rowCount ≤ 4 of them; a short tile repeats its last row and
     * does not store the repeats): each widened weight vector feeds four FMAs.
     */
    private static void tile4x4(RowMatrix w, int first, int step, int count, float[] x, int xo, int rowCount,
            float[] out, int outAt, int outStride) {
        DType t = w.dtype();
        MemorySegment seg = w.data();
        int k = w.cols();
        int es = t.byteSize();
        long b0 = w.offset(first, 0);
        long b1 = w.offset(first + Math.min(1, count - 1) * step, 0);
        long b2 = w.offset(first + Math.min(2, count - 1) * step, 0);
        long b3 = w.offset(first + Math.min(3, count - 1) * step, 0);
        int x0 = xo;
        int x1 = xo + Math.min(1, rowCount - 1) * k;
        int x2 = xo + Math.min(2, rowCount - 1) * k;
        int x3 = xo + Math.min(3, rowCount - 1) * k;
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int bound = F.loopBound(k);
        int i = 0;
        for (; i < bound; i += LANES) {
            long d = (long) i * es;
            FloatVector v0 = FloatVector.fromArray(F, x, x0 + i);
            FloatVector v1 = FloatVector.fromArray(F, x, x1 + i);
            FloatVector v2 = FloatVector.fromArray(F, x, x2 + i);
            FloatVector v3 = FloatVector.fromArray(F, x, x3 + i);
            FloatVector w0 = Widen.load(t, seg, b0 + d);
            a00 = w0.fma(v0, a00);
            a01 = w0.fma(v1, a01);
            a02 = w0.fma(v2, a02);
            a03 = w0.fma(v3, a03);
            FloatVector w1 = Widen.load(t, seg, b1 + d);
            a10 = w1.fma(v0, a10);
            a11 = w1.fma(v1, a11);
            a12 = w1.fma(v2, a12);
            a13 = w1.fma(v3, a13);
            FloatVector w2 = Widen.load(t, seg, b2 + d);
            a20 = w2.fma(v0, a20);
            a21 = w2.fma(v1, a21);
            a22 = w2.fma(v2, a22);
            a23 = w2.fma(v3, a23);
            FloatVector w3 = Widen.load(t, seg, b3 + d);
            a30 = w3.fma(v0, a30);
            a31 = w3.fma(v1, a31);
            a32 = w3.fma(v2, a32);
            a33 = w3.fma(v3, a33);
        }
        float[] s = {
            sum(a00), sum(a01), sum(a02), sum(a03),
            sum(a10), sum(a11), sum(a12), sum(a13),
            sum(a20), sum(a21), sum(a22), sum(a23),
            sum(a30), sum(a31), sum(a32), sum(a33)};
        long[] rowAt = {b0, b1, b2, b3};
        for (; i < k; i++) {
            long d = (long) i * es;
            for (int j = 0; j < 4; j++) {
                float wji = Widen.get(t, seg, rowAt[j] + d);
                for (int r = 0; r < rowCount; r++) {
                    s[j * 4 + r] += wji * x[xo + r * k + i];
                }
            }
        }
        for (int r = 0; r < rowCount; r++) {
            store(out, outAt + r * outStride, step, count, s[r], s[4 + r], s[8 + r], s[12 + r]);
        }
    }

    private static float sum(FloatVector v) {
        return v.reduceLanes(VectorOperators.ADD);
    }

    private static void store(float[] out, int at, int step, int count, float s0, float s1, float s2, float s3) {
        out[at] = s0;
        if (count > 1) {
            out[at + step] = s1;
        }
        if (count > 2) {
            out[at + 2 * step] = s2;
        }
        if (count > 3) {
            out[at + 3 * step] = s3;
        }
    }
}
