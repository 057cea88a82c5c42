package dev.afd.model.kernels;

import static dev.afd.model.kernels.Widen.F;
import static dev.afd.model.kernels.Widen.LANES;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * Matrix products for many input rows, as a register-tiled outer product.
 *
 * <p>The inputs are transposed once into strips so that a vector holds one input column across {@link Widen#LANES}
 * rows; weights are widened to f32 a block of panels (6 rows each) at a time into a per-thread buffer and broadcast
 * one element at a time. A micro-tile keeps {@code 6 × 4} accumulator vectors (6 weight rows by 4 vectors of input
 * rows, 64 rows at 16 lanes): each step does 24 FMAs for 4 vector loads and 6 broadcasts, and no lane reductions. Results land
 * transposed in a per-thread block buffer that is turned back into row-major output with contiguous stores once the
 * block is done (storing columns straight into the output would put a whole tile's stores into one L1 set whenever
 * a row is a multiple of 4 KiB). The transposes cost O(rows·k) and O(rows·n), small next to O(rows·n·k).
 */
final class PackedGemm {
    /** Weight rows per panel, the broadcast side of a micro-tile. */
    private static final int NR = 6;
    /** Input rows per full strip: four vectors, the streamed side of a micro-tile. */
    private static final int STRIP = 4 * LANES;
    /**
     * Widened weights per block: the block plus one strip of transposed inputs stay in a core's L2 while every panel
     * of the block sweeps the strip.
     */
    private static final int BLOCK_BYTES = 512 * 1024;
    /**
     * Per-thread buffers, reused because fresh arrays of this size cost more in cache misses than the transposes
     * themselves. WEIGHTS and RESULTS are written and read only by their owning thread; INPUTS is filled by the tasks
     * of the calling thread's matmul and read by the tasks of that same call only.
     */
    private static final ThreadLocal<float[]> WEIGHTS = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> RESULTS = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> INPUTS = ThreadLocal.withInitial(() -> new float[0]);

    private PackedGemm() {}

    /** {@code out[r*n + o] = sum_i w[o,i] * x[r*k + i]} for r < rows. */
    static void matmul(RowMatrix w, float[] x, int rows, float[] out) {
        int n = w.rows();
        int k = w.cols();
        int padded = paddedRows(rows);
        float[] xT = packInputs(x, rows, k);
        int panels = (n + NR - 1) / NR;
        int panelsPerBlock = Math.max(1, BLOCK_BYTES / (NR * k * Float.BYTES));
        int[] resultColumns = laneMultiples(padded);
        Parallel.forRange(panels, 2, w.data(), (from, to) -> {
            int blockPanels = Math.min(panelsPerBlock, to - from);
            float[] wf = scratch(WEIGHTS, blockPanels * NR * k);
            float[] cT = scratch(RESULTS, blockPanels * NR * padded);
            for (int block = from; block < to; block += panelsPerBlock) {
                int blockEnd = Math.min(to, block + panelsPerBlock);
                widenPanels(w, block, blockEnd, wf);
                for (int row = 0; row < padded; row += STRIP) {
                    int width = Math.min(STRIP, padded - row);
                    for (int p = block; p < blockEnd; p++) {
                        int wAt = (p - block) * NR * k;
                        int cAt = (p - block) * NR * padded + row;
                        sweep(wf, wAt, k, xT, row * k, width, cT, cAt, padded);
                    }
                }
                int o = block * NR;
                unpackResults(cT, padded, resultColumns, out, n, rows, o, Math.min(n, blockEnd * NR) - o);
            }
        });
    }

    /** One panel against one strip of {@code width} input rows, in the widest micro-tiles that fit. */
    private static void sweep(float[] wf, int wAt, int k, float[] xT, int xAt, int width, float[] cT, int cAt,
            int cStride) {
        if (width == STRIP) {
            tile6x4(wf, wAt, k, xT, xAt, cT, cAt, cStride);
            return;
        }
        int v = 0;
        for (; v + 2 * LANES <= width; v += 2 * LANES) {
            tile6x2(wf, wAt, k, xT, xAt + v, width, cT, cAt + v, cStride);
        }
        if (v < width) {
            tile6x1(wf, wAt, k, xT, xAt + v, width, cT, cAt + v, cStride);
        }
    }

    private static int paddedRows(int rows) {
        return (rows + LANES - 1) / LANES * LANES;
    }

    /** {0, stride, 2·stride, ...}: the gather map that walks down one column of a row-major matrix. */
    private static int[] laneMultiples(int stride) {
        int[] map = new int[LANES];
        for (int lane = 0; lane < LANES; lane++) {
            map[lane] = lane * stride;
        }
        return map;
    }

    /**
     * Transposes x into strips of {@link #STRIP} input rows (the last strip narrower, padded with zero rows to whole
     * vectors): the strip starting at row s begins at {@code s*k} and holds, for each i, its rows' x[r, i]
     * contiguously, so a micro-tile reads one contiguous stream.
     */
    private static float[] packInputs(float[] x, int rows, int k) {
        int groups = paddedRows(rows) / LANES;
        // Every element gets written (padding rows as zeros), so a reused buffer needs no clearing.
        float[] xT = scratch(INPUTS, groups * LANES * k);
        int[] whole = laneMultiples(k);
        // Masked gathers still range-check their masked-off lanes: in the last group those repeat the last row.
        int lastRow0 = (groups - 1) * LANES;
        int[] last = new int[LANES];
        for (int lane = 0; lane < LANES; lane++) {
            last[lane] = Math.min(lane, rows - 1 - lastRow0) * k;
        }
        int span = 256;
        int spans = (k + span - 1) / span;
        Parallel.forRange(groups * spans, 4, (from, to) -> {
            for (int job = from; job < to; job++) {
                int row0 = job / spans * LANES;
                int stripRow = row0 / STRIP * STRIP;
                int width = Math.min(STRIP, groups * LANES - stripRow);
                int dst = stripRow * k + row0 - stripRow;
                int[] map = row0 == lastRow0 ? last : whole;
                VectorMask<Float> real = F.indexInRange(row0, rows);
                int i0 = job % spans * span;
                int i1 = Math.min(k, i0 + span);
                for (int i = i0; i < i1; i++) {
                    FloatVector.fromArray(F, x, row0 * k + i, map, 0, real).intoArray(xT, dst + i * width);
                }
            }
        });
        return xT;
    }

    /** Panels [from, to) of NR weight rows each, widened row by row; rows past the end of w become zeros. */
    private static void widenPanels(RowMatrix w, int from, int to, float[] wf) {
        int k = w.cols();
        for (int p = from; p < to; p++) {
            for (int j = 0; j < NR; j++) {
                int o = p * NR + j;
                int at = ((p - from) * NR + j) * k;
                if (o < w.rows()) {
                    Widen.toFloats(w.dtype(), w.data(), w.offset(o, 0), wf, at, k);
                } else {
                    Arrays.fill(wf, at, at + k, 0f);
                }
            }
        }
    }

    /**
     * Copies a finished block, {@code cT[c*padded + r]} for its {@code cols} output columns from {@code o} on, into
     * row-major out: each output row gets contiguous stores, the gathers read the block buffer while it is in cache.
     */
    private static void unpackResults(float[] cT, int padded, int[] resultColumns, float[] out, int n, int rows, int o,
            int cols) {
        int bound = F.loopBound(cols);
        for (int r = 0; r < rows; r++) {
            int at = r * n + o;
            int c = 0;
            for (; c < bound; c += LANES) {
                FloatVector.fromArray(F, cT, c * padded + r, resultColumns, 0).intoArray(out, at + c);
            }
            for (; c < cols; c++) {
                out[at + c] = cT[c * padded + r];
            }
        }
    }

    private static float[] scratch(ThreadLocal<float[]> owner, int size) {
        float[] buf = owner.get();
        if (buf.length < size) {
            buf = new float[size];
            owner.set(buf);
        }
        return buf;
    }

    // The micro-tiles: accumulators stay in registers for all k steps, then go to cT[(panel row)*cStride + row].

    /** Weight rows of one panel times a full strip of 4 vectors of input rows. */
    private static void tile6x4(float[] wf, int wAt, int k, float[] xT, int xAt, float[] cT, int cAt, int cStride) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        FloatVector a40 = a00, a41 = a00, a42 = a00, a43 = a00;
        FloatVector a50 = a00, a51 = a00, a52 = a00, a53 = a00;
        int w0 = wAt;
        int w1 = w0 + k;
        int w2 = w1 + k;
        int w3 = w2 + k;
        int w4 = w3 + k;
        int w5 = w4 + k;
        for (int i = 0; i < k; i++) {
            int xi = xAt + i * STRIP;
            FloatVector x0 = FloatVector.fromArray(F, xT, xi);
            FloatVector x1 = FloatVector.fromArray(F, xT, xi + LANES);
            FloatVector x2 = FloatVector.fromArray(F, xT, xi + 2 * LANES);
            FloatVector x3 = FloatVector.fromArray(F, xT, xi + 3 * LANES);
            FloatVector b = FloatVector.broadcast(F, wf[w0 + i]);
            a00 = x0.fma(b, a00);
            a01 = x1.fma(b, a01);
            a02 = x2.fma(b, a02);
            a03 = x3.fma(b, a03);
            b = FloatVector.broadcast(F, wf[w1 + i]);
            a10 = x0.fma(b, a10);
            a11 = x1.fma(b, a11);
            a12 = x2.fma(b, a12);
            a13 = x3.fma(b, a13);
            b = FloatVector.broadcast(F, wf[w2 + i]);
            a20 = x0.fma(b, a20);
            a21 = x1.fma(b, a21);
            a22 = x2.fma(b, a22);
            a23 = x3.fma(b, a23);
            b = FloatVector.broadcast(F, wf[w3 + i]);
            a30 = x0.fma(b, a30);
            a31 = x1.fma(b, a31);
            a32 = x2.fma(b, a32);
            a33 = x3.fma(b, a33);
            b = FloatVector.broadcast(F, wf[w4 + i]);
            a40 = x0.fma(b, a40);
            a41 = x1.fma(b, a41);
            a42 = x2.fma(b, a42);
            a43 = x3.fma(b, a43);
            b = FloatVector.broadcast(F, wf[w5 + i]);
            a50 = x0.fma(b, a50);
            a51 = x1.fma(b, a51);
            a52 = x2.fma(b, a52);
            a53 = x3.fma(b, a53);
        }
        a00.intoArray(cT, cAt);
        a01.intoArray(cT, cAt + LANES);
        a02.intoArray(cT, cAt + 2 * LANES);
        a03.intoArray(cT, cAt + 3 * LANES);
        a10.intoArray(cT, cAt + cStride);
        a11.intoArray(cT, cAt + cStride + LANES);
        a12.intoArray(cT, cAt + cStride + 2 * LANES);
        a13.intoArray(cT, cAt + cStride + 3 * LANES);
        a20.intoArray(cT, cAt + 2 * cStride);
        a21.intoArray(cT, cAt + 2 * cStride + LANES);
        a22.intoArray(cT, cAt + 2 * cStride + 2 * LANES);
        a23.intoArray(cT, cAt + 2 * cStride + 3 * LANES);
        a30.intoArray(cT, cAt + 3 * cStride);
        a31.intoArray(cT, cAt + 3 * cStride + LANES);
        a32.intoArray(cT, cAt + 3 * cStride + 2 * LANES);
        a33.intoArray(cT, cAt + 3 * cStride + 3 * LANES);
        a40.intoArray(cT, cAt + 4 * cStride);
        a41.intoArray(cT, cAt + 4 * cStride + LANES);
        a42.intoArray(cT, cAt + 4 * cStride + 2 * LANES);
        a43.intoArray(cT, cAt + 4 * cStride + 3 * LANES);
        a50.intoArray(cT, cAt + 5 * cStride);
        a51.intoArray(cT, cAt + 5 * cStride + LANES);
        a52.intoArray(cT, cAt + 5 * cStride + 2 * LANES);
        a53.intoArray(cT, cAt + 5 * cStride + 3 * LANES);
    }

    /** Weight rows of one panel times 2 vectors of input rows of a narrow strip ({@code xStride} floats a step). */
    private static void tile6x2(float[] wf, int wAt, int k, float[] xT, int xAt, int xStride, float[] cT, int cAt,
            int cStride) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00;
        FloatVector a10 = a00, a11 = a00;
        FloatVector a20 = a00, a21 = a00;
        FloatVector a30 = a00, a31 = a00;
        FloatVector a40 = a00, a41 = a00;
        FloatVector a50 = a00, a51 = a00;
        int w0 = wAt;
        int w1 = w0 + k;
        int w2 = w1 + k;
        int w3 = w2 + k;
        int w4 = w3 + k;
        int w5 = w4 + k;
        for (int i = 0; i < k; i++) {
            int xi = xAt + i * xStride;
            FloatVector x0 = FloatVector.fromArray(F, xT, xi);
            FloatVector x1 = FloatVector.fromArray(F, xT, xi + LANES);
            FloatVector b = FloatVector.broadcast(F, wf[w0 + i]);
            a00 = x0.fma(b, a00);
            a01 = x1.fma(b, a01);
            b = FloatVector.broadcast(F, wf[w1 + i]);
            a10 = x0.fma(b, a10);
            a11 = x1.fma(b, a11);
            b = FloatVector.broadcast(F, wf[w2 + i]);
            a20 = x0.fma(b, a20);
            a21 = x1.fma(b, a21);
            b = FloatVector.broadcast(F, wf[w3 + i]);
            a30 = x0.fma(b, a30);
            a31 = x1.fma(b, a31);
            b = FloatVector.broadcast(F, wf[w4 + i]);
            a40 = x0.fma(b, a40);
            a41 = x1.fma(b, a41);
            b = FloatVector.broadcast(F, wf[w5 + i]);
            a50 = x0.fma(b, a50);
            a51 = x1.fma(b, a51);
        }
        a00.intoArray(cT, cAt);
        a01.intoArray(cT, cAt + LANES);
        a10.intoArray(cT, cAt + cStride);
        a11.intoArray(cT, cAt + cStride + LANES);
        a20.intoArray(cT, cAt + 2 * cStride);
        a21.intoArray(cT, cAt + 2 * cStride + LANES);
        a30.intoArray(cT, cAt + 3 * cStride);
        a31.intoArray(cT, cAt + 3 * cStride + LANES);
        a40.intoArray(cT, cAt + 4 * cStride);
        a41.intoArray(cT, cAt + 4 * cStride + LANES);
        a50.intoArray(cT, cAt + 5 * cStride);
        a51.intoArray(cT, cAt + 5 * cStride + LANES);
    }

    /** Weight rows of one panel times 1 vector of input rows of a narrow strip. */
    private static void tile6x1(float[] wf, int wAt, int k, float[] xT, int xAt, int xStride, float[] cT, int cAt,
            int cStride) {
        FloatVector a00 = FloatVector.zero(F);
        FloatVector a10 = a00;
        FloatVector a20 = a00;
        FloatVector a30 = a00;
        FloatVector a40 = a00;
        FloatVector a50 = a00;
        int w0 = wAt;
        int w1 = w0 + k;
        int w2 = w1 + k;
        int w3 = w2 + k;
        int w4 = w3 + k;
        int w5 = w4 + k;
        for (int i = 0; i < k; i++) {
            int xi = xAt + i * xStride;
            FloatVector x0 = FloatVector.fromArray(F, xT, xi);
            FloatVector b = FloatVector.broadcast(F, wf[w0 + i]);
            a00 = x0.fma(b, a00);
            b = FloatVector.broadcast(F, wf[w1 + i]);
            a10 = x0.fma(b, a10);
            b = FloatVector.broadcast(F, wf[w2 + i]);
            a20 = x0.fma(b, a20);
            b = FloatVector.broadcast(F, wf[w3 + i]);
            a30 = x0.fma(b, a30);
            b = FloatVector.broadcast(F, wf[w4 + i]);
            a40 = x0.fma(b, a40);
            b = FloatVector.broadcast(F, wf[w5 + i]);
            a50 = x0.fma(b, a50);
        }
        a00.intoArray(cT, cAt);
        a10.intoArray(cT, cAt + cStride);
        a20.intoArray(cT, cAt + 2 * cStride);
        a30.intoArray(cT, cAt + 3 * cStride);
        a40.intoArray(cT, cAt + 4 * cStride);
        a50.intoArray(cT, cAt + 5 * cStride);
    }
}
