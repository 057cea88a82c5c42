package dev.afd.model.kernels;

import dev.afd.model.tensor.Tensor;
import java.util.List;

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
        matmuls(List.of(new Product(w, x, rows, out)));
    }

    /** One linear layer of a joined call: {@code out = x · wᵀ} over {@code rows} rows, as {@link #matmul}. */
    public record Product(Tensor w, float[] x, int rows, float[] out) {}

    /**
     * Several linear layers at once, each exactly as its own {@link #matmul} (the same bits), in one dispatch whose
     * ranges run across the weights one after another: q/k/v projections, the gate and up of one or several MLPs.
     * One dispatch and one wait instead of one per weight, and longer runs of weights per thread. Products whose
     * weights have another width or lie in another memory scope than the first go one at a time.
     */
    public static void matmuls(List<Product> products) {
        int count = products.size();
        RowMatrix[] ms = new RowMatrix[count];
        int[] first = new int[count + 1]; // product i's weight rows are [first[i], first[i+1]) of the joined range
        int maxRows = 0;
        for (int i = 0; i < count; i++) {
            Product p = products.get(i);
            ms[i] = RowMatrix.of(p.w());
            long n = ms[i].rows();
            long k = ms[i].cols();
            if (p.rows() < 0 || p.x().length < p.rows() * k || p.out().length < p.rows() * n) {
                throw new IllegalArgumentException("matmul with " + p.w() + " over " + p.rows() + " rows needs x of"
                        + " at least " + p.rows() * k + " and out of at least " + p.rows() * n + " floats, got "
                        + p.x().length + " and " + p.out().length);
            }
            if (ms[i].cols() != ms[0].cols() || !ms[i].data().scope().equals(ms[0].data().scope())) {
                products.forEach(q -> matmuls(List.of(q)));
                return;
            }
            first[i + 1] = first[i] + (p.rows() == 0 ? 0 : ms[i].rows());
            maxRows = Math.max(maxRows, p.rows());
        }
        if (first[count] == 0) {
            return;
        }
        // Output rows split across threads, each chunk worth a task: decode reads its weights once, so a chunk
        // needs enough of them; many rows do rows times the work per weight row.
        int minChunk = Math.max(DotKernels.TILE, 16_384 / Math.max(1, maxRows * ms[0].cols()));
        Parallel.forRange(first[count], minChunk, ms[0].data(), (from, to) -> {
            for (int i = 0; i < count; i++) {
                int lo = Math.max(from, first[i]);
                int hi = Math.min(to, first[i + 1]);
                if (lo < hi) {
                    Product p = products.get(i);
                    DotKernels.range(ms[i], p.x(), 0, p.rows(), p.out(), 0, ms[i].rows(), lo - first[i],
                            hi - first[i]);
                }
            }
        });
    }
}
