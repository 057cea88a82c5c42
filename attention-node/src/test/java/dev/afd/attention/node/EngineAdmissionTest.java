package dev.afd.attention.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.afd.attention.AttentionNode;
import dev.afd.attention.engine.CollectingSink;
import dev.afd.attention.engine.Engine;
import dev.afd.attention.engine.EngineOptions;
import dev.afd.attention.engine.TokenSink;
import dev.afd.attention.kv.BlockPool;
import dev.afd.attention.scheduler.SchedulerConfig;
import dev.afd.attention.spec.SpeculativeConfig;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.GenerationResult;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.sampling.Sample;
import dev.afd.model.sampling.SamplingParams;
import dev.afd.model.tensor.DType;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the engine refuses at submit, what abort answers, and how close ends the requests still live. */
class EngineAdmissionTest {
    @TempDir
    Path dir;

    @Test
    void refusesAtSubmitAndFailsLiveRequestsOnClose() throws Exception {
        ModelGenerator.generate(ModelPreset.TINY.config(false), ModelGenerator.Options.defaults(), dir);
        long kvBytes = 8L * BlockPool.bytesPerBlock(4, 16, DType.BF16, BlockPool.DEFAULT_BLOCK_SIZE);
        EngineOptions options = new EngineOptions(DType.BF16, kvBytes, BlockPool.DEFAULT_BLOCK_SIZE,
                new SchedulerConfig(256, 64), 1, true, SpeculativeConfig.off());
        try (Checkpoint c = Checkpoint.open(dir);
                AttentionNode node = AttentionNode.inProcess(c, 1, AttentionNode.Wire.exact(), options)) {
            Engine engine = node.engine();
            GenerationRequest endless = new GenerationRequest(new int[] {1, 2, 3}, 100,
                    SamplingParams.greedy(), true);
            HeldSink live = new HeldSink();
            engine.submit("a", endless, live);
            assertThat(live.firstToken.await(30, TimeUnit.SECONDS)).as("first token").isTrue();
            assertThatThrownBy(() -> engine.submit("a", endless, new CollectingSink()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("already in use");
            assertThat(engine.abort("nobody")).isFalse();
            int tooMany = 8 * BlockPool.DEFAULT_BLOCK_SIZE + 1;
            assertThatThrownBy(() -> engine.submit("big", new GenerationRequest(new int[] {1}, tooMany,
                    SamplingParams.greedy(), true), new CollectingSink()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("holds 8").hasMessageContaining("--kv-memory-mb");

            // The engine thread is held inside a step (in the sink) while close() is asked for: close must wait for
            // it, and the engine thread, not the closing one, fails the request.
            Thread closing = Thread.ofPlatform().start(engine::close);
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!refusesNewRequests(engine, endless)) {
                assertThat(System.nanoTime()).as("close() takes effect").isLessThan(end);
                Thread.sleep(5);
            }
            assertThat(closing.isAlive()).as("close() waits for the engine thread").isTrue();
            live.release.countDown();
            closing.join(TimeUnit.SECONDS.toMillis(30));
            assertThat(closing.isAlive()).isFalse();
            assertThatThrownBy(() -> live.result().get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .hasMessageContaining("shutting down");
            assertThat(live.errorThread).isEqualTo("afd-engine");
            assertThat(engine.load().kvBlocksUsed()).as("the engine thread freed the KV blocks").isZero();
            assertThat(engine.load().kvBlocksUsed()).as("the engine thread freed the KV blocks").isZero();
        }
    }

    /** Whether a new request is refused as the engine shuts down; one taken before is failed with the rest. */
    private static boolean refusesNewRequests(Engine engine, GenerationRequest request) {
        try {
            engine.submit("late " + System.nanoTime(), request, new CollectingSink());
            return false;
        } catch (IllegalStateException e) {
            assertThat(e).hasMessageContaining("shutting down");
            return true;
        }
    }

    /** Holds the engine thread in its first token until released, and records which thread reports the error. */
    private static final class HeldSink implements TokenSink {
        final CountDownLatch firstToken = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final CollectingSink delegate = new CollectingSink();
        volatile String errorThread;

        CompletableFuture<GenerationResult> result() {
            return delegate.result();
        }

        @Override
        public void onToken(Sample sample) {
            firstToken.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void onFinish(GenerationResult result) {
            delegate.onFinish(result);
        }

        @Override
        public void onError(String message) {
            errorThread = Thread.currentThread().getName();
            delegate.onError(message);
        }
    }
}
