package dev.afd.gateway.lifecycle;

import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The gateway's bound on work in flight: a request holds one slot per choice from admission until its answer is
 * complete (or its client is gone). A full gateway, or one that is draining, turns requests away at once (503)
 * rather than queueing them without limit.
 *
 * <p>Thread-safe: every method synchronizes on this.
 */
public final class Admission {
    private final int limit;
    private final Set<GenerationJob> jobs = new LinkedHashSet<>();
    private int used;
    private boolean draining;

    public Admission(int limit) {
        this.limit = limit;
    }

    public int limit() {
        return limit;
    }

    /** Why {@code slots} more cannot be admitted now ("draining" or "overloaded"), or null after admitting them. */
    public synchronized String tryEnter(GenerationJob job, int slots) {
        if (draining) {
            return "draining";
        }
        if (used + slots > limit) {
            return "overloaded";
        }
        used += slots;
        jobs.add(job);
        return null;
    }

    synchronized void leave(GenerationJob job, int slots) {
        if (jobs.remove(job)) {
            used -= slots;
            if (jobs.isEmpty()) {
                notifyAll();
            }
        }
    }

    public synchronized int inflight() {
        return used;
    }

    public synchronized void startDraining() {
        draining = true;
    }

    public synchronized boolean draining() {
        return draining;
    }

    /** Waits until no job is in flight; false when {@code timeout} passed first. */
    public synchronized boolean awaitIdle(Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (!jobs.isEmpty()) {
            long left = end - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            wait(Math.max(1, left / 1_000_000));
        }
        return true;
    }

    public synchronized List<GenerationJob> jobs() {
        return List.copyOf(jobs);
    }
}
