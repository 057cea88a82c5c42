package dev.afd.model.kernels;

import dev.afd.model.tensor.Tensor;

/**
 * Linear layers: {@code out = x · wᵀ} for a PyTorch-layout weight {@code w [n, k]} in BF16, F16 or F32, with f32
 * inputs, outputs and accumulation. Thread-safe; work is spread over {@link Parallel}.
 */
public final class MatMul {
    /**
     * From this many input rows on, the packed outer-product kernel beats streaming the weights once per four
     * rows: its transposes and widening are paid once and each weight element then feeds a whole vector of rows.
     * Measured crossover on the small model's shapes: 8 rows for k=256, 12-16 rows for k=1024. F16 weights always
     * take the packed path, the only one that widens F16.
     */
    static final int PACKED_MIN_ROWS = 12;

    private MatMul() {}

    /**
     * {@code out[r*n + o] = sum_i w[o,i] * x[r*k + i]} for {@code r < rows}; w is a 2-D [n, k] tensor, x holds
     * {@code rows*k} f32 values (row-major) and out {@code rows*n} (overwritten).
     */
    public static void matmul(Tensor w, float[] x, int rows, float[] out) {
        RowMatrix m = RowMatrix.of(w);
        long n = m.rows();
        long k = m.cols();
        if (rows < 0 || x.length < rows * k || out.length < rows * n) {
            throw new IllegalArgumentException("matmul with " + w + " over " + rows + " rows needs x of at least "
                    + rows * k + " and out of at least " + rows * n + " floats, got " + x.length + " and "
                    + out.length);
        }
        if (rows == 0) {
            return;
        }
        if (rows >= PACKED_MIN_ROWS || !Widen.loadable(m.dtype())) {
            PackedGemm.matmul(m, x, rows, out);
        } else {
            streamed(m, x, rows, out);
        }
    }

    /** Decode path: output rows split across threads, each chunk big enough to be worth a task. */
    static void streamed(RowMatrix m, float[] x, int rows, float[] out) {
        int minChunk = Math.max(DotKernels.TILE, 16_384 / Math.max(1, m.cols()));
        Parallel.forRange(m.rows(), minChunk, m.data(),
                (from, to) -> DotKernels.range(m, x, 0, rows, out, 0, m.rows(), from, to));
    }
}
