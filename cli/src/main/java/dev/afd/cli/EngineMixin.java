package dev.afd.cli;

import dev.afd.attention.engine.EngineOptions;
import dev.afd.attention.kv.BlockPool;
import dev.afd.attention.scheduler.SchedulerConfig;
import dev.afd.attention.spec.SpeculativeConfig;
import dev.afd.model.tensor.DType;
import picocli.CommandLine.Option;

/** Options of the attention engine, shared by every command that runs one. */
final class EngineMixin {
    @Option(names = "--kv-dtype", defaultValue = "bf16", description = "KV cache type: f32 or bf16 (default: ${DEFAULT-VALUE}).")
    String kvDtype;

    @Option(names = "--kv-memory-mb", defaultValue = "512", description = "Off-heap memory for the paged KV cache, MiB (default: ${DEFAULT-VALUE}).")
    long kvMemoryMb;

    @Option(names = "--micro-batches", defaultValue = "2", description = "Micro-batches per step in the layer pipeline, 1-4 (default: ${DEFAULT-VALUE}).")
    int microBatches;

    @Option(names = "--max-batched-tokens", defaultValue = "2048", description = "Token budget of one engine step (default: ${DEFAULT-VALUE}).")
    int maxBatchedTokens;

    @Option(names = "--max-running", defaultValue = "256", description = "Most sequences running at once (default: ${DEFAULT-VALUE}).")
    int maxRunning;

    @Option(names = "--prefix-caching", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Reuse the KV blocks of prompts that start alike: a prompt whose first blocks are cached"
                    + " computes only the rest (same tokens bit for bit). --no-prefix-caching computes every prompt"
                    + " in full. Default: ${DEFAULT-VALUE}.")
    boolean prefixCaching;

    @Option(names = "--speculative-tokens", defaultValue = "0",
            description = "Speculative decoding: drafts per sequence and step, verified together in one step, 0-"
                    + SpeculativeConfig.MAX_TOKENS + "; 0 is off (default: ${DEFAULT-VALUE}). Greedy output is the"
                    + " same token for token; sampled output follows the same distribution.")
    int speculativeTokens;

    @Option(names = "--speculative-method", defaultValue = "ngram",
            description = "Where drafts come from: ngram (prompt lookup in the sequence's own tokens) or mtp (the"
                    + " model's multi-token-prediction layers: Step-3.5 has them, Step-3 none). Default: ${DEFAULT-VALUE}.")
    String speculativeMethod;

    @Option(names = "--ngram-min", defaultValue = "1",
            description = "Shortest suffix the ngram method looks up (vLLM's prompt_lookup_min; default: ${DEFAULT-VALUE}).")
    int ngramMin;

    @Option(names = "--ngram-max", defaultValue = "3",
            description = "Longest suffix the ngram method looks up (vLLM's prompt_lookup_max; default: ${DEFAULT-VALUE}).")
    int ngramMax;

    EngineOptions options() {
        DType kv = DType.parse(kvDtype);
        if (kv == DType.F16) {
            throw new IllegalArgumentException("--kv-dtype must be f32 or bf16, got f16");
        }
        return new EngineOptions(kv, kvMemoryMb << 20, BlockPool.DEFAULT_BLOCK_SIZE,
                new SchedulerConfig(maxBatchedTokens, maxRunning), microBatches, prefixCaching, speculative());
    }

    /**
     * The speculative-decoding options, checked on their own; whether the model can serve the method (mtp needs MTP
     * layers) is checked when the engine starts on it.
     */
    SpeculativeConfig speculative() {
        return new SpeculativeConfig(SpeculativeConfig.Method.parse(speculativeMethod), speculativeTokens, ngramMin,
                ngramMax);
    }
}
