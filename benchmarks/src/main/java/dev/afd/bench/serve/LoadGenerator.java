package dev.afd.bench.serve;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs one load: sends each request at its arrival time, waiting first for a free slot when concurrency is capped,
 * and collects every outcome. Arrivals that find every slot busy queue in arrival order and go out as slots free, as
 * in vLLM; their latencies count from the actual send, so they exclude that client-side wait.
 *
 * <p>With a time limit ({@code --max-seconds}) no request is sent after it; those already sent run to their end,
 * and the run's figures count them only.
 *
 * <p>Threading: the calling thread paces and sends; outcomes complete on the HTTP client's threads and only touch
 * the semaphore and the atomic counters. The caller reads the outcomes after joining all of them.
 */
public final class LoadGenerator {
    private LoadGenerator() {}

    /**
     * One run's outcomes.
     *
     * @param outcomes in request order, of the requests sent (all of them unless a time limit stopped the run)
     * @param durationNanos from the first send to the last outcome
     * @param maxInFlight the most requests that were in flight at once
     */
    public record Run(Load load, List<RequestOutcome> outcomes, long durationNanos, int maxInFlight) {}

    /** Live counts a progress bar reads; safe to read from any thread. */
    public static final class Progress {
        private final AtomicInteger finished = new AtomicInteger();
        private final AtomicInteger failed = new AtomicInteger();

        public int finished() {
            return finished.get();
        }

        public int failed() {
            return failed.get();
        }
    }

    /** Sends every request. */
    public static Run run(OpenAiClient client, Endpoint endpoint, List<PreparedRequest> requests, Load load, long seed,
            Progress progress) throws InterruptedException {
        return run(client, endpoint, requests, load, seed, progress, null);
    }

    /**
     * Sends the requests until {@code maxDuration} after the first send.
     *
     * @param maxDuration null for no limit
     */
    public static Run run(OpenAiClient client, Endpoint endpoint, List<PreparedRequest> requests, Load load, long seed,
            Progress progress, Duration maxDuration) throws InterruptedException {
        long[] offsets = Arrivals.offsetsNanos(requests.size(), load.requestRate(), load.burstiness(), seed);
        Semaphore slots = load.maxConcurrency() > 0 ? new Semaphore(load.maxConcurrency()) : null;
        AtomicInteger inFlight = new AtomicInteger();
        AtomicInteger maxInFlight = new AtomicInteger();
        List<CompletableFuture<RequestOutcome>> pending = new ArrayList<>(requests.size());
        long start = System.nanoTime();
        long limit = maxDuration == null ? Long.MAX_VALUE : maxDuration.toNanos();
        for (int i = 0; i < requests.size(); i++) {
            if (offsets[i] >= limit) {
                break;
            }
            sleepUntil(start + offsets[i]);
            long left = limit == Long.MAX_VALUE ? Long.MAX_VALUE : start + limit - System.nanoTime();
            if (slots != null && !slots.tryAcquire(left, TimeUnit.NANOSECONDS)) {
                break;
            }
            maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            pending.add(client.send(endpoint, requests.get(i)).whenComplete((outcome, error) -> {
                inFlight.decrementAndGet();
                if (slots != null) {
                    slots.release();
                }
                if (!outcome.ok()) {
                    progress.failed.incrementAndGet();
                }
                progress.finished.incrementAndGet();
            }));
        }
        List<RequestOutcome> outcomes = new ArrayList<>(pending.size());
        long end = start;
        for (CompletableFuture<RequestOutcome> f : pending) {
            RequestOutcome o = f.join();
            outcomes.add(o);
            end = Math.max(end, o.endNanos());
        }
        return new Run(load, outcomes, end - start, maxInFlight.get());
    }

    private static void sleepUntil(long deadline) throws InterruptedException {
        long wait;
        while ((wait = deadline - System.nanoTime()) > 0) {
            LockSupport.parkNanos(wait);
            if (Thread.interrupted()) {
                throw new InterruptedException("the load run was interrupted");
            }
        }
    }
}
