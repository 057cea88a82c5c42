package dev.afd.model.kernels;

import static dev.afd.model.kernels.Widen.F;
import static dev.afd.model.kernels.Widen.LANES;

import dev.afd.model.tensor.DType;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Matrix products as dot products along the shared inner dimension k: the one numerics definition behind every
 * matmul and attention score in the project. For input row r and weight row o,
 *
 * <pre>
 * acc[l]    = fma chain of w[o,i] * x[r,i] over i = l, l+L, l+2L, ... below B = F.loopBound(k), increasing i, from 0
 * out[r,o]  = fma chain of w[o,i] * x[r,i] over i = B .. k-1, increasing i, starting from laneSum(acc)
 * </pre>
 *
 * with L = {@link Widen#LANES}, laneSum the fixed tree of {@link Lanes} and weights widened to f32 exactly. Every
 * kernel here computes each element by exactly these operations, so an element is the same bits whichever tile it
 * lands in (first, remainder, repeated), however many rows share the call, however the work is split over threads
 * and whichever JIT tier runs it. The kernels choose only the schedule: tiles, their order, where weights are read.
 *
 * <p>Sequential; callers split the output rows across threads. Each thread keeps its own widening buffer.
 */
final class DotKernels {
    /** Weight rows per tile: four independent accumulator chains per input row hide the FMA latency. */
    static final int TILE = 4;
    /**
     * Input rows per tile from two rows on: each loaded weight vector feeds this many FMAs. Six rows by four weight
     * rows (24 accumulators, 10 loads per 24 FMAs) measured 5-15% faster than four by four (16, 8 per 16).
     */
    private static final int ROW_TILE = 6;
    /**
     * Up to this many input rows stream BF16/F32 weights straight from memory, all rows against each loaded weight
     * vector: a routed expert sees a few rows per step, too few to pay for widening a block first (which made an
     * expert cost the same for 2 rows as for 6).
     */
    private static final int STREAM_ROWS = 8;
    /**
     * Widened weights per block: the block plus a block of input rows stay in a core's L2 while every tile of one
     * sweeps the other.
     */
    private static final int WEIGHT_BLOCK_BYTES = 256 * 1024;
    private static final int INPUT_BLOCK_BYTES = 512 * 1024;
    /**
     * Tiles whose accumulators are reduced together: one pass of {@link Lanes#sums} over many tiles keeps its
     * folds independent, where a pass per tile would wait on each level in turn.
     */
    private static final int BATCH_TILES = 16;
    /** Per-thread buffers, written and read only by their owning thread: widened weight blocks, lane partials. */
    private static final ThreadLocal<float[]> WIDENED = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> PARTIALS =
            ThreadLocal.withInitial(() -> new float[BATCH_TILES * ROW_TILE * TILE * LANES]);

    private DotKernels() {}

    /**
     * {@code out[outOff + r*outStride + o] = sum_i w[o,i] * x[xOff + r*k + i]} for input rows r < rows and output
     * rows o in [oFrom, oTo).
     *
     * <p>One row (decode, bound by memory bandwidth) streams BF16/F32 weights straight from their memory, each
     * element loaded once; so do up to {@link #STREAM_ROWS} rows (a routed expert's share of a decode batch), each
     * loaded weight vector feeding every row. More rows, or F16 weights, widen the weights to f32 a block at a time and run register
     * tiles of {@link #ROW_TILE} input rows by {@link #TILE} weight rows over the block: the widening is paid once
     * per block instead of once per tile, and each loaded weight vector feeds six FMAs.
     */
    static void range(RowMatrix w, float[] x, int xOff, int rows, float[] out, int outOff, int outStride,
            int oFrom, int oTo) {
        if (rows <= STREAM_ROWS && Widen.loadable(w.dtype())) {
            streamed(w, x, xOff, rows, out, outOff, outStride, oFrom, oTo);
            return;
        }
        int k = w.cols();
        int blockRows = Math.max(TILE, WEIGHT_BLOCK_BYTES / (Float.BYTES * Math.max(1, k)));
        int inputRows = Math.max(ROW_TILE, INPUT_BLOCK_BYTES / (Float.BYTES * Math.max(1, k)));
        float[] widened = widenedBuffer(Math.min(blockRows, oTo - oFrom) * k);
        for (int o = oFrom; o < oTo; o += blockRows) {
            int count = Math.min(blockRows, oTo - o);
            Widen.toFloats(w.dtype(), w.data(), w.offset(o, 0), widened, 0, count * k);
            for (int r = 0; r < rows; r += inputRows) {
                tiled(widened, count, k, x, xOff + r * k, Math.min(inputRows, rows - r), out,
                        outOff + r * outStride + o, outStride);
            }
        }
    }

    /**
     * Up to {@link #STREAM_ROWS} input rows against weight rows [oFrom, oTo), tiles of {@link #TILE} weight rows by
     * up to {@link #TILE} input rows. The range is cut into TILE quarters and each tile takes one row from each
     * quarter: the four row streams then each read one long contiguous stretch of memory, which the hardware
     * prefetchers follow far better than four neighbouring rows. Each batch of tiles runs for every group of four
     * input rows before the next batch: the first group reads the weights from memory, the others from L2.
     */
    private static void streamed(RowMatrix w, float[] x, int xOff, int rows, float[] out, int outOff, int outStride,
            int oFrom, int oTo) {
        DType t = w.dtype();
        int k = w.cols();
        float[] partials = PARTIALS.get();
        long[] weightRows = new long[TILE];
        int[] inputRows = new int[TILE];
        int quarter = (oTo - oFrom + TILE - 1) / TILE;
        for (int q0 = 0; q0 < quarter; q0 += BATCH_TILES) {
            int q1 = Math.min(quarter, q0 + BATCH_TILES);
            for (int r0 = 0; r0 < rows; r0 += TILE) {
                int group = Math.min(TILE, rows - r0);
                // Accumulator vectors per tile; a short group repeats its last input row, whose sums are not stored
                // (memory-bound at these sizes: the spare FMAs cost nothing measurable).
                int tileVectors = (group == 1 ? 1 : TILE) * TILE;
                for (int r = 0; r < TILE; r++) {
                    inputRows[r] = xOff + (r0 + Math.min(r, group - 1)) * k;
                }
                for (int q = q0; q < q1; q++) {
                    int count = rowsInTile(oFrom, oTo, q, quarter);
                    // A short tile repeats its last weight row to stay four wide; the repeats are not stored.
                    for (int j = 0; j < TILE; j++) {
                        weightRows[j] = w.offset(oFrom + q + Math.min(j, count - 1) * quarter, 0);
                    }
                    int at = (q - q0) * tileVectors * LANES;
                    if (group == 1) {
                        tile1x4(w, weightRows, x, inputRows[0], partials, at);
                    } else {
                        tile4x4(w, weightRows, x, inputRows, partials, at);
                    }
                }
                Lanes.sums(partials, (q1 - q0) * tileVectors);
                for (int q = q0; q < q1; q++) {
                    for (int r = 0; r < group; r++) {
                        for (int j = 0; j < rowsInTile(oFrom, oTo, q, quarter); j++) {
                            int o = oFrom + q + j * quarter;
                            float s = partials[(q - q0) * tileVectors + r * TILE + j];
                            for (int i = F.loopBound(k); i < k; i++) {
                                s = Math.fma(Widen.get(t, w.data(), w.offset(o, i)), x[inputRows[r] + i], s);
                            }
                            out[outOff + (r0 + r) * outStride + o] = s;
                        }
                    }
                }
            }
        }
    }

    /** How many of the rows first, first+quarter, ... (first = oFrom + q, at most TILE) lie below oTo. */
    private static int rowsInTile(int oFrom, int oTo, int q, int quarter) {
        return Math.min(TILE, (oTo - oFrom - q + quarter - 1) / quarter);
    }

    /**
     * Input rows x[xOff + r*k ...] for r < rows against the f32 weight rows {@code wf[o*k ...]} for o < n; results
     * to {@code out[outAt + r*outStride + o]}. Row tiles outside, weight tiles inside: a tile's input rows stay in
     * L1 while the weight rows stream past from L2, and each output row is written contiguously (writing down
     * columns would put every store of a sweep into one L1 set whenever a row is a multiple of 4 KiB).
     */
    private static void tiled(float[] wf, int n, int k, float[] x, int xOff, int rows, float[] out, int outAt,
            int outStride) {
        float[] partials = PARTIALS.get();
        int[] weightRows = new int[TILE];
        int[] inputRows = new int[ROW_TILE];
        int bound = F.loopBound(k);
        for (int r = 0; r < rows; r += ROW_TILE) {
            int rowCount = Math.min(ROW_TILE, rows - r);
            // Short tiles of either kind repeat their last row to stay full size; the repeats are not stored.
            for (int i = 0; i < ROW_TILE; i++) {
                inputRows[i] = xOff + (r + Math.min(i, rowCount - 1)) * k;
            }
            for (int o0 = 0; o0 < n; o0 += BATCH_TILES * TILE) {
                int o1 = Math.min(n, o0 + BATCH_TILES * TILE);
                // Vector (i, o) of the batch at i*width + (o - o0): the sums then come out as rows of outputs.
                int width = (o1 - o0 + TILE - 1) / TILE * TILE;
                for (int o = o0; o < o1; o += TILE) {
                    for (int j = 0; j < TILE; j++) {
                        weightRows[j] = Math.min(o + j, o1 - 1) * k;
                    }
                    tile6x4(wf, weightRows, x, inputRows, k, partials, (o - o0) * LANES, width * LANES);
                }
                Lanes.sums(partials, rowCount * width); // the repeated rows' vectors come after, unread
                for (int i = 0; i < rowCount; i++) {
                    int outRow = outAt + (r + i) * outStride;
                    if (bound == k) {
                        System.arraycopy(partials, i * width, out, outRow + o0, o1 - o0);
                        continue;
                    }
                    for (int o = o0; o < o1; o++) {
                        float s = partials[i * width + o - o0];
                        for (int c = bound; c < k; c++) {
                            s = Math.fma(wf[o * k + c], x[inputRows[i] + c], s);
                        }
                        out[outRow + o] = s;
                    }
                }
            }
        }
    }

    /**
     * One input row by four weight rows read from memory: four accumulator vectors, stored to {@code partials}
     * (weight row j at {@code at + j*LANES}).
     */
    private static void tile1x4(RowMatrix w, long[] weightRows, float[] x, int xo, float[] partials, int at) {
        DType t = w.dtype();
        MemorySegment seg = w.data();
        int es = t.byteSize();
        long b0 = weightRows[0];
        long b1 = weightRows[1];
        long b2 = weightRows[2];
        long b3 = weightRows[3];
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        int bound = F.loopBound(w.cols());
        for (int i = 0; i < bound; i += LANES) {
            FloatVector xv = FloatVector.fromArray(F, x, xo + i);
            long d = (long) i * es;
            a0 = Widen.load(t, seg, b0 + d).fma(xv, a0);
            a1 = Widen.load(t, seg, b1 + d).fma(xv, a1);
            a2 = Widen.load(t, seg, b2 + d).fma(xv, a2);
            a3 = Widen.load(t, seg, b3 + d).fma(xv, a3);
        }
        a0.intoArray(partials, at);
        a1.intoArray(partials, at + LANES);
        a2.intoArray(partials, at + 2 * LANES);
        a3.intoArray(partials, at + 3 * LANES);
    }

    /**
     * Four input rows by four weight rows read from memory: 16 accumulator vectors, stored to {@code partials} (input
     * row r, weight row j at {@code at + (r*TILE + j)*LANES}).
     */
    private static void tile4x4(RowMatrix w, long[] weightRows, float[] x, int[] inputRows, float[] partials,
            int at) {
        DType t = w.dtype();
        MemorySegment seg = w.data();
        int es = t.byteSize();
        long b0 = weightRows[0];
        long b1 = weightRows[1];
        long b2 = weightRows[2];
        long b3 = weightRows[3];
        int x0 = inputRows[0];
        int x1 = inputRows[1];
        int x2 = inputRows[2];
        int x3 = inputRows[3];
        // a<r><j>: input row r, weight row j.
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int bound = F.loopBound(w.cols());
        for (int i = 0; i < bound; i += LANES) {
            long d = (long) i * es;
            FloatVector w0 = Widen.load(t, seg, b0 + d);
            FloatVector w1 = Widen.load(t, seg, b1 + d);
            FloatVector w2 = Widen.load(t, seg, b2 + d);
            FloatVector w3 = Widen.load(t, seg, b3 + d);
            FloatVector v0 = FloatVector.fromArray(F, x, x0 + i);
            a00 = w0.fma(v0, a00);
            a01 = w1.fma(v0, a01);
            a02 = w2.fma(v0, a02);
            a03 = w3.fma(v0, a03);
            FloatVector v1 = FloatVector.fromArray(F, x, x1 + i);
            a10 = w0.fma(v1, a10);
            a11 = w1.fma(v1, a11);
            a12 = w2.fma(v1, a12);
            a13 = w3.fma(v1, a13);
            FloatVector v2 = FloatVector.fromArray(F, x, x2 + i);
            a20 = w0.fma(v2, a20);
            a21 = w1.fma(v2, a21);
            a22 = w2.fma(v2, a22);
            a23 = w3.fma(v2, a23);
            FloatVector v3 = FloatVector.fromArray(F, x, x3 + i);
            a30 = w0.fma(v3, a30);
            a31 = w1.fma(v3, a31);
            a32 = w2.fma(v3, a32);
            a33 = w3.fma(v3, a33);
        }
        int v = LANES;
        a00.intoArray(partials, at);
        a01.intoArray(partials, at + v);
        a02.intoArray(partials, at + 2 * v);
        a03.intoArray(partials, at + 3 * v);
        a10.intoArray(partials, at + 4 * v);
        a11.intoArray(partials, at + 5 * v);
        a12.intoArray(partials, at + 6 * v);
        a13.intoArray(partials, at + 7 * v);
        a20.intoArray(partials, at + 8 * v);
        a21.intoArray(partials, at + 9 * v);
        a22.intoArray(partials, at + 10 * v);
        a23.intoArray(partials, at + 11 * v);
        a30.intoArray(partials, at + 12 * v);
        a31.intoArray(partials, at + 13 * v);
        a32.intoArray(partials, at + 14 * v);
        a33.intoArray(partials, at + 15 * v);
    }

    /**
     * Six input rows by four widened weight rows: 24 accumulator vectors, stored to {@code partials} (input row r,
     * weight row j at {@code at + r*rowStride + j*LANES}). The lane sums are left to {@link Lanes#sums}: unrolled
     * here, their vector operations would push the kernel past what the JIT inlines.
     */
    private static void tile6x4(float[] wf, int[] weightRows, float[] x, int[] inputRows, int k, float[] partials,
            int at, int rowStride) {
        int b0 = weightRows[0];
        int b1 = weightRows[1];
        int b2 = weightRows[2];
        int b3 = weightRows[3];
        int x0 = inputRows[0];
        int x1 = inputRows[1];
        int x2 = inputRows[2];
        int x3 = inputRows[3];
        int x4 = inputRows[4];
        int x5 = inputRows[5];
        // a<r><j>: input row r, weight row j.
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        FloatVector a40 = a00, a41 = a00, a42 = a00, a43 = a00;
        FloatVector a50 = a00, a51 = a00, a52 = a00, a53 = a00;
        int bound = F.loopBound(k);
        for (int i = 0; i < bound; i += LANES) {
            FloatVector w0 = FloatVector.fromArray(F, wf, b0 + i);
            FloatVector w1 = FloatVector.fromArray(F, wf, b1 + i);
            FloatVector w2 = FloatVector.fromArray(F, wf, b2 + i);
            FloatVector w3 = FloatVector.fromArray(F, wf, b3 + i);
            FloatVector v0 = FloatVector.fromArray(F, x, x0 + i);
            a00 = w0.fma(v0, a00);
            a01 = w1.fma(v0, a01);
            a02 = w2.fma(v0, a02);
            a03 = w3.fma(v0, a03);
            FloatVector v1 = FloatVector.fromArray(F, x, x1 + i);
            a10 = w0.fma(v1, a10);
            a11 = w1.fma(v1, a11);
            a12 = w2.fma(v1, a12);
            a13 = w3.fma(v1, a13);
            FloatVector v2 = FloatVector.fromArray(F, x, x2 + i);
            a20 = w0.fma(v2, a20);
            a21 = w1.fma(v2, a21);
            a22 = w2.fma(v2, a22);
            a23 = w3.fma(v2, a23);
            FloatVector v3 = FloatVector.fromArray(F, x, x3 + i);
            a30 = w0.fma(v3, a30);
            a31 = w1.fma(v3, a31);
            a32 = w2.fma(v3, a32);
            a33 = w3.fma(v3, a33);
            FloatVector v4 = FloatVector.fromArray(F, x, x4 + i);
            a40 = w0.fma(v4, a40);
            a41 = w1.fma(v4, a41);
            a42 = w2.fma(v4, a42);
            a43 = w3.fma(v4, a43);
            FloatVector v5 = FloatVector.fromArray(F, x, x5 + i);
            a50 = w0.fma(v5, a50);
            a51 = w1.fma(v5, a51);
            a52 = w2.fma(v5, a52);
            a53 = w3.fma(v5, a53);
        }
        a00.intoArray(partials, at);
        a01.intoArray(partials, at + LANES);
        a02.intoArray(partials, at + 2 * LANES);
        a03.intoArray(partials, at + 3 * LANES);
        a10.intoArray(partials, at + rowStride);
        a11.intoArray(partials, at + rowStride + LANES);
        a12.intoArray(partials, at + rowStride + 2 * LANES);
        a13.intoArray(partials, at + rowStride + 3 * LANES);
        a20.intoArray(partials, at + 2 * rowStride);
        a21.intoArray(partials, at + 2 * rowStride + LANES);
        a22.intoArray(partials, at + 2 * rowStride + 2 * LANES);
        a23.intoArray(partials, at + 2 * rowStride + 3 * LANES);
        a30.intoArray(partials, at + 3 * rowStride);
        a31.intoArray(partials, at + 3 * rowStride + LANES);
        a32.intoArray(partials, at + 3 * rowStride + 2 * LANES);
        a33.intoArray(partials, at + 3 * rowStride + 3 * LANES);
        a40.intoArray(partials, at + 4 * rowStride);
        a41.intoArray(partials, at + 4 * rowStride + LANES);
        a42.intoArray(partials, at + 4 * rowStride + 2 * LANES);
        a43.intoArray(partials, at + 4 * rowStride + 3 * LANES);
        a50.intoArray(partials, at + 5 * rowStride);
        a51.intoArray(partials, at + 5 * rowStride + LANES);
        a52.intoArray(partials, at + 5 * rowStride + 2 * LANES);
        a53.intoArray(partials, at + 5 * rowStride + 3 * LANES);
    }

    private static float[] widenedBuffer(int size) {
        float[] buffer = WIDENED.get();
        if (buffer.length < size) {
            buffer = new float[size];
            WIDENED.set(buffer);
        }
        return buffer;
    }
}
