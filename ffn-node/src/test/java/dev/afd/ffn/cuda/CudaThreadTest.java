package dev.afd.ffn.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** The hand-over to the one CUDA thread; no CUDA involved. */
class CudaThreadTest {
    @Test
    void runsEveryCallOnItsOwnPlatformThread() throws Exception {
        try (CudaThread cuda = new CudaThread("test-cuda");
                ExecutorService callers = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Thread>> ran = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                ran.add(callers.submit(() -> cuda.call(() -> {
                    cuda.requireCurrent();
                    return Thread.currentThread();
                })));
            }
            Thread first = ran.getFirst().get();
            assertThat(first.getName()).isEqualTo("test-cuda");
            assertThat(first.isVirtual()).isFalse();
            for (Future<Thread> f : ran) {
                assertThat(f.get()).isSameAs(first);
            }
            assertThat(cuda.call(() -> cuda.call(() -> 42))).as("a call from the thread itself").isEqualTo(42);
        }
    }

    @Test
    void rethrowsWhatTheWorkThrew() {
        try (CudaThread cuda = new CudaThread("test-cuda")) {
            assertThatThrownBy(() -> cuda.call(() -> {
                throw new IllegalArgumentException("bad frame");
            })).isInstanceOf(IllegalArgumentException.class).hasMessage("bad frame");
            assertThatThrownBy(() -> cuda.call(() -> {
                throw new IOException("disk");
            })).isInstanceOf(IllegalStateException.class).hasMessage("GPU work failed: java.io.IOException: disk");
            assertThatThrownBy(cuda::requireCurrent).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("instead of");
        }
    }

    @Test
    void refusesWorkOnceClosed() {
        CudaThread cuda = new CudaThread("test-cuda");
        cuda.close();
        assertThatThrownBy(() -> cuda.call(() -> 1)).isInstanceOf(IllegalStateException.class)
                .hasMessage("the CUDA thread has been closed");
    }
}
