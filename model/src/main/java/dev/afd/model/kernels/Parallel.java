package dev.afd.model.kernels;

import java.lang.foreign.MemorySegment;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The kernel thread pool: one thread per core, shared by every kernel in the process. Kernels split their work into
 * contiguous index ranges; I/O threads (gRPC, HTTP) never run here.
 *
 * <p>The calling thread works on its own job, and the {@code threads() - 1} workers help whichever open job has
 * chunks left, oldest first. Several threads may run jobs at once (an attention engine and the ffn-nodes it talks to
 * in one process, two ffn-nodes side by side): each works on its own job and the workers go where work is left, so a
 * core never idles while some job still has chunks to hand out. Workers spin for {@code afd.kernel.spinMicros}
 * (default 200 µs) after the last open job before they park: a decode step is hundreds of kernel calls of tens of
 * microseconds each, and waking a parked thread costs about as much as one such call (a fork/join pool measured
 * ~18 µs per empty dispatch here, this design ~1 µs).
 *
 * <p>Threading: any thread may call {@link #forRange}; a call nested inside a task runs on its own thread, so calls
 * never wait on each other and never deadlock.
 */
public final class Parallel {
    /** Work on the index range [from, to). */
    @FunctionalInterface
    public interface RangeTask {
        void run(int from, int to);
    }

    private static final int THREADS = Integer.getInteger("afd.kernel.threads",
            Runtime.getRuntime().availableProcessors());
    private static final long SPIN_NANOS = Long.getLong("afd.kernel.spinMicros", 200) * 1000;
    private static final Worker[] WORKERS = new Worker[Math.max(0, THREADS - 1)];
    /** Jobs that may have chunks left to claim, oldest first; each caller adds and removes its own. */
    private static final Queue<Job> OPEN = new ConcurrentLinkedQueue<>();
    /** Set while this thread runs a job's task, or inside {@link #alone}: its kernel calls then run inline. */
    private static final ThreadLocal<boolean[]> INLINE = ThreadLocal.withInitial(() -> new boolean[1]);

    static {
        for (int i = 0; i < WORKERS.length; i++) {
            WORKERS[i] = new Worker(i + 1);
            WORKERS[i].start();
        }
    }

    private Parallel() {}

    public static int threads() {
        return THREADS;
    }

    /**
     * Runs {@code task} over [0, n) split into contiguous chunks of at least {@code minChunk} indices, at most a few
     * chunks per thread, and returns when all are done. Small ranges run on the calling thread. An exception thrown
     * by a chunk is rethrown here after the other chunks finished.
     */
    public static void forRange(int n, int minChunk, RangeTask task) {
        if (n <= 0) {
            return;
        }
        int chunks = Math.min(THREADS * 4, Math.max(1, n / Math.max(1, minChunk)));
        if (chunks == 1 || THREADS == 1 || Thread.currentThread() instanceof Worker) {
            task.run(0, n);
            return;
        }
        boolean[] inline = INLINE.get();
        if (inline[0]) { // nested inside one of our own tasks, or inside alone()
            task.run(0, n);
            return;
        }
        Job job = new Job(task, n, chunks);
        OPEN.add(job);
        for (Worker w : WORKERS) {
            if (w.parked) {
                LockSupport.unpark(w);
            }
        }
        inline[0] = true;
        try {
            job.work();
        } finally {
            inline[0] = false;
            OPEN.remove(job); // every chunk is claimed by now
        }
        job.awaitAll();
        job.rethrow();
    }

    /**
     * Runs {@code body} with every kernel call it makes on the calling thread alone, as one chunk: a way for tests
     * to check that results do not depend on the thread count, and for a benchmark to hold one side of a
     * disaggregated run to one core, as if it had its own hardware. Other threads' calls are not affected.
     */
    public static void alone(Runnable body) {
        boolean[] inline = INLINE.get();
        boolean outer = inline[0];
        inline[0] = true;
        try {
            body.run();
        } finally {
            inline[0] = outer;
        }
    }

    /**
     * {@link #forRange(int, int, RangeTask)} for a task that reads {@code memory}: when that memory is confined to
     * the calling thread (an {@code Arena.ofConfined()} segment, which no other thread may touch), the whole range
     * runs on the calling thread instead.
     */
    public static void forRange(int n, int minChunk, MemorySegment memory, RangeTask task) {
        if (WORKERS.length > 0 && !memory.isAccessibleBy(WORKERS[0])) {
            if (n > 0) {
                task.run(0, n);
            }
            return;
        }
        forRange(n, minChunk, task);
    }

    /** The oldest open job with a chunk left to claim, or null. */
    private static Job claimable() {
        if (OPEN.isEmpty()) { // the idle workers' spin: no iterator
            return null;
        }
        for (Job job : OPEN) {
            if (job.hasChunksLeft()) {
                return job;
            }
        }
        return null;
    }

    /** One dispatch: chunks are claimed in order by whichever thread is free. */
    private static final class Job {
        private final RangeTask task;
        private final int n;
        private final int chunks;
        private final AtomicInteger next = new AtomicInteger();
        private final AtomicInteger finished = new AtomicInteger();
        private volatile Throwable failure;

        Job(RangeTask task, int n, int chunks) {
            this.task = task;
            this.n = n;
            this.chunks = chunks;
        }

        boolean hasChunksLeft() {
            return next.get() < chunks;
        }

        void work() {
            int i;
            while ((i = next.getAndIncrement()) < chunks) {
                try {
                    task.run((int) ((long) n * i / chunks), (int) ((long) n * (i + 1) / chunks));
                } catch (Throwable t) {
                    if (failure == null) {
                        failure = t;
                    }
                } finally {
                    finished.incrementAndGet();
                }
            }
        }

        void awaitAll() {
            long start = System.nanoTime();
            while (finished.get() < chunks) {
                if (System.nanoTime() - start < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield(); // a worker lost its core; let it finish
                }
            }
        }

        void rethrow() {
            Throwable t = failure;
            if (t instanceof RuntimeException e) {
                throw e;
            }
            if (t instanceof Error e) {
                throw e;
            }
            if (t != null) {
                throw new IllegalStateException("kernel task failed", t);
            }
        }
    }

    private static final class Worker extends Thread {
        volatile boolean parked;

        Worker(int index) {
            super("afd-kernel-" + index);
            setDaemon(true);
        }

        @Override
        public void run() {
            while (true) {
                long idleSince = System.nanoTime();
                Job job;
                while ((job = claimable()) == null) {
                    if (System.nanoTime() - idleSince < SPIN_NANOS) {
                        Thread.onSpinWait();
                    } else {
                        // Volatile flag, then re-check: either a caller sees parked and unparks us, or we see its
                        // new job and skip the park.
                        parked = true;
                        if (claimable() == null) {
                            LockSupport.park(this);
                        }
                        parked = false;
                        idleSince = System.nanoTime();
                    }
                }
                job.work();
            }
        }
    }
}
