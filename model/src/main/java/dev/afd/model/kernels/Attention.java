package dev.afd.model.kernels;

import static dev.afd.model.kernels.Widen.F;
import static dev.afd.model.kernels.Widen.LANES;

import dev.afd.model.tensor.DType;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Decode attention where many query heads of one position share a single K/V head: MFA's one head, or one KV group
 * of grouped-query attention (GQA: the caller calls once per group). Exact two-pass softmax: all scores first, then
 * one softmax per head, then the weighted sum of values.
 */
public final class Attention {
    /** Query heads per value tile: each loaded value vector feeds this many heads. */
    private static final int HEADS_PER_TILE = 4;

    private Attention() {}

    /** {@link #attend(float[], int, int, int, KvView, int, int, float, float[], int)} over every position [0, len). */
    public static void attend(float[] q, int qOff, int heads, int headDim, KvView kv, int len, float scale,
            float[] out, int outOff) {
        attend(q, qOff, heads, headDim, kv, 0, len, scale, out, outOff);
    }

    /**
     * {@code heads} query heads ({@code q[qOff + h*headDim ...]}) of one position attend to the single K/V head over
     * cached positions [from, len) held in {@code kv} (a sliding window starts past 0); scores are
     * {@code scale * q·k}, softmax in f32 with the maximum subtracted. Writes heads*headDim values to
     * {@code out[outOff...]}.
     *
     * <p>Deterministic: each score is a {@link DotKernels} dot product, and each output element accumulates
     * {@code prob * value} with one fma per position in increasing position order, whatever the thread count. Keys
     * are read once (each block scored against all heads at once); the value sum is split over heads and
     * dimensions, never over positions.
     */
    public static void attend(float[] q, int qOff, int heads, int headDim, KvView kv, int from, int len, float scale,
            float[] out, int outOff) {
        if (from < 0 || len <= from) {
            throw new IllegalArgumentException("attention needs at least one cached position, got [" + from + ", "
                    + len + ")");
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
        int firstBlock = from / blockSize;
        int blocks = (len + blockSize - 1) / blockSize - firstBlock;
        int count = len - from;
        float[] scaled = new float[width];
        for (int i = 0; i < width; i++) {
            scaled[i] = q[qOff + i] * scale;
        }
        // probs[h*count + p - from] is head h's score, then probability, of position p.
        float[] probs = new float[heads * count];
        Parallel.forRange(blocks, 1, kv.keys(firstBlock), (lo, hi) -> {
            for (int b = firstBlock + lo; b < firstBlock + hi; b++) {
                int first = b * blockSize;
                RowMatrix keys = new RowMatrix(kv.keys(b), kv.dtype(), blockSize, headDim);
                DotKernels.range(keys, scaled, 0, heads, probs, first - from, count, Math.max(0, from - first),
                        Math.min(blockSize, len - first));
            }
        });
        Parallel.forRange(heads, 1, (lo, hi) -> {
            for (int h = lo; h < hi; h++) {
                Softmax.softmax(probs, h * count, count);
            }
        });
        weightedValues(probs, heads, headDim, kv, from, len, out, outOff);
    }

    /**
     * out[h] = sum_p probs[h*(len-from) + p - from] * v_p over p in [from, len). Work is split over columns (a group
     * of up to {@link #HEADS_PER_TILE} heads by one vector of dimensions, or the dimensions past the last whole vector); each column runs through all
     * blocks in order with its sums held in registers (a sequence's values for one layer fit in L2, so nothing is
     * gained by sharing a block between columns).
     */
    private static void weightedValues(float[] probs, int heads, int headDim, KvView kv, int from, int len,
            float[] out, int outOff) {
        int headTiles = (heads + HEADS_PER_TILE - 1) / HEADS_PER_TILE;
        int vectors = F.loopBound(headDim) / LANES;
        int columnsPerTile = vectors + (headDim % LANES == 0 ? 0 : 1);
        Parallel.forRange(headTiles * columnsPerTile, 1, kv.values(from / kv.blockSize()), (lo, hi) -> {
            for (int c = lo; c < hi; c++) {
                int h = c / columnsPerTile * HEADS_PER_TILE;
                int column = c % columnsPerTile;
                int count = Math.min(HEADS_PER_TILE, heads - h);
                if (column < vectors) {
                    valueTile(probs, from, len, h, count, kv, headDim, column * LANES, out, outOff);
                } else {
                    valueTail(probs, from, len, h, count, kv, headDim, out, outOff);
                }
            }
        });
    }

    /** The dimensions past the last whole vector, for heads h..h+count-1, over all positions. */
    private static void valueTail(float[] probs, int from, int len, int h, int count, KvView kv, int headDim,
            float[] out, int outOff) {
        DType t = kv.dtype();
        int blockSize = kv.blockSize();
        int positions = len - from;
        for (int d = F.loopBound(headDim); d < headDim; d++) {
            for (int j = h; j < h + count; j++) {
                float sum = 0;
                for (int p = from; p < len; p++) {
                    MemorySegment values = kv.values(p / blockSize);
                    float v = Widen.get(t, values, ((long) (p % blockSize) * headDim + d) * t.byteSize());
                    sum = Math.fma(probs[j * positions + p - from], v, sum);
                }
                out[outOff + j * headDim + d] = sum;
            }
        }
    }

    /**
     * Heads h..h+count-1 (count ≤ 4; a short tile repeats its last head and does not store the repeats) by one
     * vector of dimensions from d, over all positions in order.
     */
    private static void valueTile(float[] probs, int from, int len, int h, int count, KvView kv, int headDim, int d,
            float[] out, int outOff) {
        DType t = kv.dtype();
        int blockSize = kv.blockSize();
        int positions = len - from;
        // Offsets of position 0 in each head's probabilities (positions before from are never read).
        int p0 = h * positions - from;
        int p1 = (h + Math.min(1, count - 1)) * positions - from;
        int p2 = (h + Math.min(2, count - 1)) * positions - from;
        int p3 = (h + Math.min(3, count - 1)) * positions - from;
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        long rowBytes = (long) headDim * t.byteSize();
        for (int first = from; first < len; first = (first / blockSize + 1) * blockSize) {
            MemorySegment values = kv.values(first / blockSize);
            int end = Math.min((first / blockSize + 1) * blockSize, len);
            long at = (long) d * t.byteSize() + (long) (first % blockSize) * rowBytes;
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
