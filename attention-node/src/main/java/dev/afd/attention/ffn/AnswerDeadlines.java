package dev.afd.attention.ffn;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;

/**
 * Deadlines for the answers of layer exchanges: a future not complete by its due time fails with a
 * {@link TimeoutException}. One sweeping thread checks every open answer each {@link #RESOLUTION}, so a deadline
 * fires up to that much late; watching an answer costs a set insert and removal and wakes no thread.
 *
 * <p>Why not {@code CompletableFuture.orTimeout}: it schedules a task per answer on a shared timer, and when that
 * timer's queue is empty (one exchange at a time, the usual case at small batches) every schedule wakes the timer
 * thread: one more thread wake-up per part of every layer exchange, on cores the exchange itself needs.
 *
 * <p>Threading: any thread may {@link #watch}; the sweeper is a daemon thread started with the class.
 */
final class AnswerDeadlines {
    /** How often open answers are checked: how late a deadline may fire. */
    static final Duration RESOLUTION = Duration.ofMillis(10);

    private record Watched(CompletableFuture<?> answer, long dueNanos) {}

    private static final Set<Watched> OPEN = ConcurrentHashMap.newKeySet();

    static {
        Thread.ofPlatform().name("ffn-answer-deadlines").daemon().start(AnswerDeadlines::sweepForever);
    }

    private AnswerDeadlines() {}

    /** Fails {@code answer} with a {@link TimeoutException} once {@code deadline} has passed, unless done by then. */
    static <T> CompletableFuture<T> watch(CompletableFuture<T> answer, Duration deadline) {
        Watched w = new Watched(answer, System.nanoTime() + deadline.toNanos());
        OPEN.add(w);
        answer.whenComplete((r, e) -> OPEN.remove(w));
        return answer;
    }

    private static void sweepForever() {
        while (true) {
            try {
                Thread.sleep(RESOLUTION);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            for (Watched w : OPEN) {
                if (now - w.dueNanos() >= 0) {
                    w.answer().completeExceptionally(new TimeoutException());
                }
            }
        }
    }
}
