package dev.afd.model.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class ParallelTest {
    @Test
    void coversEveryIndexExactlyOnce() {
        for (int n : new int[] {1, 2, 7, 100, 1001}) {
            for (int minChunk : new int[] {1, 3, 64, 5000}) {
                AtomicIntegerArray hits = new AtomicIntegerArray(n);
                Parallel.forRange(n, minChunk, (from, to) -> {
                    for (int i = from; i < to; i++) {
                        hits.incrementAndGet(i);
                    }
                });
                for (int i = 0; i < n; i++) {
                    assertThat(hits.get(i)).as("n=%d minChunk=%d index %d", n, minChunk, i).isEqualTo(1);
                }
            }
        }
        Parallel.forRange(0, 1, (from, to) -> {
            throw new AssertionError("nothing to run");
        });
    }

    @Test
    void nestedAndConcurrentCallsComplete() throws Exception {
        ExecutorService callers = Executors.newFixedThreadPool(3);
        try {
            List<Future<Integer>> sums = new ArrayList<>();
            for (int c = 0; c < 3; c++) {
                sums.add(callers.submit(() -> {
                    AtomicIntegerArray hits = new AtomicIntegerArray(64 * 64);
                    for (int round = 0; round < 50; round++) {
                        Parallel.forRange(64, 1, (from, to) -> {
                            for (int i = from; i < to; i++) {
                                int row = i;
                                Parallel.forRange(64, 1, (f, t) -> {
                                    for (int j = f; j < t; j++) {
                                        hits.incrementAndGet(row * 64 + j);
                                    }
                                });
                            }
                        });
                    }
                    int total = 0;
                    for (int i = 0; i < hits.length(); i++) {
                        total += hits.get(i);
                    }
                    return total;
                }));
            }
            for (Future<Integer> s : sums) {
                assertThat(s.get()).isEqualTo(50 * 64 * 64);
            }
        } finally {
            callers.shutdown();
        }
    }

    @Test
    void rethrowsTheFirstFailureAfterAllChunksFinish() {
        AtomicIntegerArray hits = new AtomicIntegerArray(100);
        assertThatThrownBy(() -> Parallel.forRange(100, 1, (from, to) -> {
            for (int i = from; i < to; i++) {
                hits.incrementAndGet(i);
            }
            if (from == 0) {
                throw new IllegalStateException("boom");
            }
        })).isInstanceOf(IllegalStateException.class).hasMessage("boom");
        for (int i = 0; i < 100; i++) {
            assertThat(hits.get(i)).isEqualTo(1);
        }
        // The pool still works afterwards.
        AtomicIntegerArray again = new AtomicIntegerArray(10);
        Parallel.forRange(10, 1, (from, to) -> again.incrementAndGet(from));
        assertThat(again.get(0)).isEqualTo(1);
    }

    @Test
    void confinedMemoryRunsOnTheCallingThread() {
        Thread caller = Thread.currentThread();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment confined = arena.allocate(8);
            List<Thread> ran = new java.util.concurrent.CopyOnWriteArrayList<>();
            Parallel.forRange(1000, 1, confined, (from, to) -> {
                confined.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0); // only legal on the owner thread
                ran.add(Thread.currentThread());
            });
            assertThat(ran).containsOnly(caller);
        }
    }
}
