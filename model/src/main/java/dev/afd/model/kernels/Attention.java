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
     * heads by one vector of dimensions, or the dimensions past the last whole vector), each of which runs through
     * all blocks in order; within a task the blocks are the outer loop, so a block's values stay in cache while all
     * of the task's columns use them.
     */
    private static void weightedValues(float[] probs, int heads, int headDim, KvView kv, int len, float[] out,
            int outOff) {
        int blocks = (len + kv.blockSize() - 1) / kv.blockSize();
        int headTiles = (heads + HEADS_PER_TILE - 1) / HEADS_PER_TILE;
        int vectors = F.loopBound(headDim) / LANES;
        int columnsPerTile = vectors + (headDim % LANES == 0 ? 0 : 1);
        float[] acc = new float[heads * headDim];
        Parallel.forRange(headTiles * columnsPerTile, 1, kv.values(0), (from, to) -> {
            for (int b = 0; b < blocks; b++) {
                for (int c = from; c < to; c++) {
                    int h = c / columnsPerTile * HEADS_PER_TILE;
                    int column = c % columnsPerTile;
                    int count = Math.min(HEADS_PER_TILE, heads - h);
                    if (column < vectors) {
                        valueTile(probs, len, h, count, kv, b, headDim, column * LANES, acc);
                    } else {
                        valueTail(probs, len, h, count, kv, b, headDim, acc);
                    }
                }
            }
        });
        System.arraycopy(acc, 0, out, outOff, acc.length);
    }

    /** The dimensions past the last whole vector, for heads h..h+count-1, over one block's positions. */
    private static void valueTail(float[] probs, int len, int h, int count, KvView kv, int b, int headDim,
            float[] acc) {
        DType t = kv.dtype();
        MemorySegment values = kv.values(b);
        int first = b * kv.blockSize();
        int used = Math.min(kv.blockSize(), len - first);
        for (int d = F.loopBound(headDim); d < headDim; d++) {
            for (int j = h; j < h + count; j++) {
                float sum = acc[j * headDim + d];
                for (int p = 0; p < used; p++) {
                    float v = Widen.get(t, values, ((long) p * headDim + d) * t.byteSize());
                    sum = Math.fma(probs[j * len + first + p], v, sum);
                }
                acc[j * headDim + d] = sum;
            }
        }
    }

    /**
     * Heads h..h+count-1 (count ≤ 4; a short tile repeats its last head and does not store the repeats) by one
     * vector of dimensions from d, over block b's positions, continuing the sums in acc.
     */
    private static void valueTile(float[] probs, int len, int h, int count, KvView kv, int b, int headDim, int d,
            float[] acc) {
        DType t = kv.dtype();
        MemorySegment values = kv.values(b);
        int first = b * kv.blockSize();
        int used = Math.min(kv.blockSize(), len - first);
        int p0 = h * len + first;
        int p1 = (h + Math.min(1, count - 1)) * len + first;
        int p2 = (h + Math.min(2, count - 1)) * len + first;
        int p3 = (h + Math.min(3, count - 1)) * len + first;
        FloatVector a0 = FloatVector.fromArray(F, acc, h * headDim + d);
        FloatVector a1 = FloatVector.fromArray(F, acc, (h + Math.min(1, count - 1)) * headDim + d);
        FloatVector a2 = FloatVector.fromArray(F, acc, (h + Math.min(2, count - 1)) * headDim + d);
        FloatVector a3 = FloatVector.fromArray(F, acc, (h + Math.min(3, count - 1)) * headDim + d);
        long rowBytes = (long) headDim * t.byteSize();
        long at = (long) d * t.byteSize();
        for (int p = 0; p < used; p++, at += rowBytes) {
            FloatVector v = Widen.load(t, values, at);
            a0 = v.fma(FloatVector.broadcast(F, probs[p0 + p]), a0);
            a1 = v.fma(FloatVector.broadcast(F, probs[p1 + p]), a1);
            a2 = v.fma(FloatVector.broadcast(F, probs[p2 + p]), a2);
            a3 = v.fma(FloatVector.broadcast(F, probs[p3 + p]), a3);
        }
        a0.intoArray(acc, h * headDim + d);
        if (count > 1) {
            a1.intoArray(acc, (h + 1) * headDim + d);
        }
        if (count > 2) {
            a2.intoArray(acc, (h + 2) * headDim + d);
        }
        if (count > 3) {
            a3.intoArray(acc, (h + 3) * headDim + d);
        }
    }
}
