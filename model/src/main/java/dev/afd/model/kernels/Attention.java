package dev.afd.model.kernels;

import static dev.afd.model.kernels.Widen.F;
import static dev.afd.model.kernels.Widen.LANES;

import dev.afd.model.tensor.DType;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Decode attention for multi-matrix factorisation attention (MFA): many query heads of one position share a single
 * K/V head. Exact two-pass softmax: all scores first, then one softmax per head, then the weighted sum of values.
 */
public final class Attention {
    /** Query heads per value tile: each loaded value vector feeds this many heads. */
    private static final int HEADS_PER_TILE = 4;

    private Attention() {}

    /**
     * {@code heads} query heads ({@code q[qOff + h*headDim ...]}) of one position attend to the single K/V head over
     * cached positions [0, len) held in {@code kv}; scores are {@code scale * q·k}, softmax in f32 with the maximum
     * subtracted. Writes heads*headDim values to {@code out[outOff...]}.
     *
     * <p>Deterministic: each score is a {@link DotKernels} dot product, and each output element accumulates
     * {@code prob * value} with one fma per position in increasing position order, whatever the thread count. Keys
     * are read once (each block scored against all heads at once); the value sum is split over heads and
     * dimensions, never over positions.
     */
    public static void attend(float[] q, int qOff, int heads, int headDim, KvView kv, int len, float scale,
            float[] out, int outOff) {
        if (len <= 0) {
            throw new IllegalArgumentException("attention needs at least one cached position, got " + len);
        }
        int width = heads * headDim;
        if (heads <= 0 || headDim <= 0 || qOff < 0 || qOff > q.length - width || outOff < 0
                || outOff > out.length - width) {
            throw new IllegalArgumentException(heads + " heads of " + headDim + " do not fit q at " + qOff + " (length "
                    + q.length + ") or out at " + outOff + " (length " + out.length + ")");
        }
        if (!Widen.loadable(kv.dtype())) {
            throw new IllegalArgumentException("KV cache in " + kv.dtype() + " is not supported; store it as F32 or BF16");
        }
        int blockSize = kv.blockSize();
        int blocks = (len + blockSize - 1) / blockSize;
        float[] scaled = new float[width];
        for (int i = 0; i < width; i++) {
            scaled[i] = q[qOff + i] * scale;
        }
        float[] probs = new float[heads * len];
        Parallel.forRange(blocks, 1, kv.keys(0), (from, to) -> {
            for (int b = from; b < to; b++) {
                int first = b * blockSize;
                RowMatrix keys = new RowMatrix(kv.keys(b), kv.dtype(), blockSize, headDim);
                DotKernels.range(keys, scaled, 0, heads, probs, first, len, 0, Math.min(blockSize, len - first));
            }
        });
        Parallel.forRange(heads, 1, (from, to) -> {
            for (int h = from; h < to; h++) {
                Softmax.softmax(probs, h * len, len);
            }
        });
        weightedValues(probs, heads, headDim, kv, len, out, outOff);
    }

    /**
     * out[h] = sum_p probs[h*len + p] * v_p. Work is split over columns (a group of up to {@link #HEADS_PER_TILE}
     * heads by one vector of dimensions, or the dimensions past the last whole vector); each column runs through all
     * blocks in order with its sums held in registers (a sequence's values for one layer fit in L2, so nothing is
     * gained by sharing a block between columns).
     */
    private static void weightedValues(float[] probs, int heads, int headDim, KvView kv, int len, float[] out,
            int outOff) {
        int headTiles = (heads + HEADS_PER_TILE - 1) / HEADS_PER_TILE;
        int vectors = F.loopBound(headDim) / LANES;
        int columnsPerTile = vectors + (headDim % LANES == 0 ? 0 : 1);
        Parallel.forRange(headTiles * columnsPerTile, 1, kv.values(0), (from, to) -> {
            for (int c = from; c < to; c++) {
                int h = c / columnsPerTile * HEADS_PER_TILE;
                int column = c % columnsPerTile;
                int count = Math.min(HEADS_PER_TILE, heads - h);
                if (column < vectors) {
                    valueTile(probs, len, h, count, kv, headDim, column * LANES, out, outOff);
                } else {
                    valueTail(probs, len, h, count, kv, headDim, out, outOff);
                }
            }
        });
    }

    /** The dimensions past the last whole vector, for heads h..h+count-1, over all positions. */
    private static void valueTail(float[] probs, int len, int h, int count, KvView kv, int headDim, float[] out,
            int outOff) {
        DType t = kv.dtype();
        int blockSize = kv.blockSize();
        for (int d = F.loopBound(headDim); d < headDim; d++) {
            for (int j = h; j < h + count; j++) {
                float sum = 0;
                for (int first = 0; first < len; first += blockSize) {
                    MemorySegment values = kv.values(first / blockSize);
                    int used = Math.min(blockSize, len - first);
                    for (int p = 0; p < used; p++) {
                        float v = Widen.get(t, values, ((long) p * headDim + d) * t.byteSize());
                        sum = Math.fma(probs[j * len + first + p], v, sum);
                    }
                }
                out[outOff + j * headDim + d] = sum;
            }
        }
    }

    /**
     * Heads h..h+count-1 (count ≤ 4; a short tile repeats its last head and does not store the repeats) by one
     * vector of dimensions from d, over all positions in order.
     */
    private static void valueTile(float[] probs, int len, int h, int count, KvView kv, int headDim, int d,
            float[] out, int outOff) {
        DType t = kv.dtype();
        int blockSize = kv.blockSize();
        int p0 = h * len;
        int p1 = (h + Math.min(1, count - 1)) * len;
        int p2 = (h + Math.min(2, count - 1)) * len;
        int p3 = (h + Math.min(3, count - 1)) * len;
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        long rowBytes = (long) headDim * t.byteSize();
        for (int first = 0; first < len; first += blockSize) {
            MemorySegment values = kv.values(first / blockSize);
            int end = first + Math.min(blockSize, len - first);
            long at = (long) d * t.byteSize();
            for (int p = first; p < end; p++, at += rowBytes) {
                FloatVector v = Widen.load(t, values, at);
                a0 = v.fma(FloatVector.broadcast(F, probs[p0 + p]), a0);
                a1 = v.fma(FloatVector.broadcast(F, probs[p1 + p]), a1);
                a2 = v.fma(FloatVector.broadcast(F, probs[p2 + p]), a2);
                a3 = v.fma(FloatVector.broadcast(F, probs[p3 + p]), a3);
            }
        }
        int o = outOff + h * headDim + d;
        a0.intoArray(out, o);
        if (count > 1) {
            a1.intoArray(out, o + headDim);
        }
        if (count > 2) {
            a2.intoArray(out, o + 2 * headDim);
        }
        if (count > 3) {
            a3.intoArray(out, o + 3 * headDim);
        }
    }
}
