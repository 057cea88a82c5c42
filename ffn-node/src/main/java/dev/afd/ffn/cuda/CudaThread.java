package dev.afd.ffn.cuda;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The one platform thread that makes every CUDA call of this package.
 *
 * <p>Why: a CUDA context is current per OS thread, and a virtual thread may move between carrier threads, so CUDA
 * calls from arbitrary threads would run without the context (or crash). Every JCuda object of this package
 * (device memory, pinned host memory, streams, events, the module) is therefore created, used and freed on this
 * thread, and other threads hand their work over through {@link #call} and wait for it. This also serialises
 * the backend's calls, which share one workspace on the GPU.
 */
final class CudaThread implements AutoCloseable {
    private final ExecutorService executor;
    /** Set by the executor's factory, which runs once, on the first submission, before the first task. */
    private volatile Thread thread;

    CudaThread(String name) {
        executor = Executors.newSingleThreadExecutor(runnable -> {
            thread = Thread.ofPlatform().name(name).daemon().unstarted(runnable);
            return thread;
        });
    }

    /**
     * Runs {@code work} on this thread and returns its result; a runtime exception or error of the work is
     * rethrown as is. Called on this thread itself, it runs the work directly.
     *
     * @throws IllegalStateException when the thread is closed, or the caller is interrupted while waiting (the
     *     work then still runs to its end)
     */
    <T> T call(Callable<T> work) {
        if (Thread.currentThread() == thread) {
            return runHere(work);
        }
        Future<T> result;
        try {
            result = executor.submit(work);
        } catch (RejectedExecutionException e) {
            throw new IllegalStateException("the CUDA thread has been closed", e);
        }
        try {
            return result.get();
        } catch (ExecutionException e) {
            throw rethrow(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the GPU", e);
        }
    }

    /** Throws unless called on this thread: guards code that must never run anywhere else. */
    void requireCurrent() {
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException("CUDA call on " + Thread.currentThread() + " instead of " + thread);
        }
    }

    private static <T> T runHere(Callable<T> work) {
        try {
            return work.call();
        } catch (Exception e) {
            throw rethrow(e);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException("GPU work failed: " + t, t);
    }

    /** Stops the thread after the work already handed over; call after freeing what lives on it. */
    @Override
    public void close() {
        executor.shutdown();
        try {
            executor.awaitTermination(1, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
