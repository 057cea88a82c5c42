package dev.afd.model.kernels;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.RecursiveAction;

/**
 * The kernel thread pool: one worker per core, shared by every kernel in the process. Kernels split their work into
 * contiguous index ranges; I/O threads (gRPC, HTTP) never run here.
 */
public final class Parallel {
    /** Work on the index range [from, to). */
    @FunctionalInterface
    public interface RangeTask {
        void run(int from, int to);
    }

    private static final int THREADS = Integer.getInteger("afd.kernel.threads",
            Runtime.getRuntime().availableProcessors());
    private static final ForkJoinPool POOL = new ForkJoinPool(THREADS);

    private Parallel() {}

    public static int threads() {
        return THREADS;
    }

    /**
     * Runs {@code task} over [0, n) split into contiguous chunks of at least {@code minChunk} indices, at most a few
     * chunks per thread, and returns when all are done. Small ranges run on the calling thread.
     */
    public static void forRange(int n, int minChunk, RangeTask task) {
        if (n <= 0) {
            return;
        }
        int chunks = Math.min(THREADS * 4, Math.max(1, n / Math.max(1, minChunk)));
        if (chunks == 1 || THREADS == 1) {
            task.run(0, n);
            return;
        }
        RangeAction root = new RangeAction(task, n, chunks, 0, chunks);
        if (Thread.currentThread() instanceof ForkJoinWorkerThread w && w.getPool() == POOL) {
            root.invoke();
        } else {
            POOL.invoke(root);
        }
    }

    private static final class RangeAction extends RecursiveAction {
        private final RangeTask task;
        private final int n;
        private final int chunks;
        private final int lo;
        private final int hi;

        RangeAction(RangeTask task, int n, int chunks, int lo, int hi) {
            this.task = task;
            this.n = n;
            this.chunks = chunks;
            this.lo = lo;
            this.hi = hi;
        }

        @Override
        protected void compute() {
            if (hi - lo == 1) {
                int from = (int) ((long) n * lo / chunks);
                int to = (int) ((long) n * hi / chunks);
                task.run(from, to);
                return;
            }
            int mid = (lo + hi) >>> 1;
            invokeAll(new RangeAction(task, n, chunks, lo, mid), new RangeAction(task, n, chunks, mid, hi));
        }
    }
}
