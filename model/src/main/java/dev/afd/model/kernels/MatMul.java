package dev.afd.model.kernels;

import dev.afd.model.tensor.Tensor;

/**
 * Linear layers: {@code out = x · wᵀ} for a PyTorch-layout weight {@code w [n, k]} in BF16, F16 or F32, with f32
 * inputs, outputs and accumulation. Thread-safe; work is spread over {@link Parallel}.
 *
 * <p>Batch invariant: every output element is computed by the one definition in {@link DotKernels}, so a row's
 * result is the same bits whether it runs alone or with any other rows, on however many threads.
 */
public final class MatMul {
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
        // Output rows split across threads, each chunk worth a task: decode reads its weights once, so a chunk
        // needs enough of them; many rows do rows times the work per weight row.
        int minChunk = Math.max(DotKernels.TILE, 16_384 / Math.max(1, rows * m.cols()));
        Parallel.forRange(m.rows(), minChunk, m.data(),
                (from, to) -> DotKernels.range(m, x, 0, rows, out, 0, m.rows(), from, to));
    }
}
