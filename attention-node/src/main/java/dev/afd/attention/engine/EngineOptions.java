package dev.afd.attention.engine;

import dev.afd.attention.kv.BlockPool;
import dev.afd.attention.scheduler.SchedulerConfig;
import dev.afd.attention.spec.SpeculativeConfig;
import dev.afd.model.tensor.DType;
import java.util.Objects;

/**
 * How an engine runs.
 *
 * @param kvDtype KV cache element type (F32 or BF16)
 * @param kvMemoryBytes off-heap bytes for the paged KV cache
 * @param blockSize positions per KV block
 * @param scheduler token budget and running-sequence limit per step
 * @param microBatches micro-batches per step in the per-layer pipeline (1-4)
 * @param prefixCaching whether sequences reuse the cached KV blocks of prompts that start alike (results are the
 *     same bit for bit either way; off, every prompt is computed in full)
 * @param speculative speculative decoding: where drafts come from and how many per step (greedy output is the same
 *     token for token either way)
 */
public record EngineOptions(DType kvDtype, long kvMemoryBytes, int blockSize, SchedulerConfig scheduler,
        int microBatches, boolean prefixCaching, SpeculativeConfig speculative) {
    public EngineOptions {
        if (microBatches < 1 || microBatches > 4) {
            throw new IllegalArgumentException("micro-batches must be between 1 and 4, got " + microBatches);
        }
        Objects.requireNonNull(speculative, "speculative");
    }

    /**
     * BF16 KV in 512 MiB, 16-position blocks, the scheduler's defaults, two micro-batches, prefix caching, no
     * speculation.
     */
    public static EngineOptions defaults() {
        return new EngineOptions(DType.BF16, 512L << 20, BlockPool.DEFAULT_BLOCK_SIZE, SchedulerConfig.defaults(), 2,
                true, SpeculativeConfig.off());
    }

    public EngineOptions withKvDtype(DType dtype) {
        return new EngineOptions(dtype, kvMemoryBytes, blockSize, scheduler, microBatches, prefixCaching,
                speculative);
    }

    public EngineOptions withKvMemory(long bytes) {
        return new EngineOptions(kvDtype, bytes, blockSize, scheduler, microBatches, prefixCaching, speculative);
    }

    public EngineOptions withMicroBatches(int m) {
        return new EngineOptions(kvDtype, kvMemoryBytes, blockSize, scheduler, m, prefixCaching, speculative);
    }

    public EngineOptions withScheduler(SchedulerConfig config) {
        return new EngineOptions(kvDtype, kvMemoryBytes, blockSize, config, microBatches, prefixCaching, speculative);
    }

    public EngineOptions withBlockSize(int positions) {
        return new EngineOptions(kvDtype, kvMemoryBytes, positions, scheduler, microBatches, prefixCaching,
                speculative);
    }

    public EngineOptions withPrefixCaching(boolean on) {
        return new EngineOptions(kvDtype, kvMemoryBytes, blockSize, scheduler, microBatches, on, speculative);
    }

    public EngineOptions withSpeculative(SpeculativeConfig config) {
        return new EngineOptions(kvDtype, kvMemoryBytes, blockSize, scheduler, microBatches, prefixCaching, config);
    }
}
