package dev.afd.model.kernels;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The kernel thread pool: one thread per core, shared by every kernel in the process. Kernels split their work into
 * contiguous index ranges; I/O threads (gRPC, HTTP) never run here.
 *
 * <p>The calling thread works as one of the threads, and the other {@code threads() - 1} workers spin for
 * {@code afd.kernel.spinMicros} (default 200 µs) after each job before they park. A decode step is hundreds of
 * kernel calls of tens of microseconds each; waking a parked thread costs about as much as one such call (a
 * fork/join pool measured ~18 µs per empty dispatch here, this design ~1 µs).
 *
 * <p>Threading: one job runs at a time. A call made while another is running (from a second thread, or nested
 * inside a task) runs on its own calling thread instead of waiting, so calls never deadlock.
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
    private static final ReentrantLock DISPATCH = new ReentrantLock();
    private static final Worker[] WORKERS = new Worker[Math.max(0, THREADS - 1)];
    /** The job workers should join, null between jobs (so a finished job's data can be collected). */
    private static volatile Job current;
    /** Jobs dispatched so far; written under {@link #DISPATCH}. */
    private static long jobs;

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
        if (chunks == 1 || THREADS == 1 || Thread.currentThread() instanceof Worker || !DISPATCH.tryLock()) {
            task.run(0, n);
            return;
        }
        try {
            if (DISPATCH.getHoldCount() > 1) { // nested inside one of our own tasks, or inside serially()
                task.run(0, n);
                return;
            }
            Job job = new Job(++jobs, task, n, chunks);
            current = job;
            for (Worker w : WORKERS) {
                if (w.parked) {
                    LockSupport.unpark(w);
                }
            }
            job.work();
            job.awaitAll();
            current = null;
            job.rethrow();
        } finally {
            DISPATCH.unlock();
        }
    }

    /**
     * Runs {@code body} with every kernel call it makes on the calling thread alone, as one chunk: a way for tests
     * to check that results do not depend on the thread count. Holds the dispatch lock meanwhile, so other threads'
     * kernel calls run on their own threads too.
     */
    static void serially(Runnable body) {
        DISPATCH.lock();
        try {
            body.run();
        } finally {
            DISPATCH.unlock();
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

    /** One dispatch: chunks are claimed in order by whichever thread is free. */
    private static final class Job {
        private final long id;
        private final RangeTask task;
        private final int n;
        private final int chunks;
        private final AtomicInteger next = new AtomicInteger();
        private final AtomicInteger finished = new AtomicInteger();
        private volatile Throwable failure;

        Job(long id, RangeTask task, int n, int chunks) {
            this.id = id;
            this.task = task;
            this.n = n;
            this.chunks = chunks;
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
            long seen = 0; // id of the last job joined; ids start at 1
            while (true) {
                long idleSince = System.nanoTime();
                Job job;
                while ((job = current) == null || job.id == seen) {
                    if (System.nanoTime() - idleSince < SPIN_NANOS) {
                        Thread.onSpinWait();
                    } else {
                        // Volatile flag, then re-check: either the dispatcher sees parked and unparks us, or we see
                        // its new job and skip the park.
                        parked = true;
                        Job now = current;
                        if (now == null || now.id == seen) {
                            LockSupport.park(this);
                        }
                        parked = false;
                        idleSince = System.nanoTime();
                    }
                }
                seen = job.id;
                job.work();
            }
        }
    }
}
