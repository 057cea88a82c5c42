package dev.afd.attention.scheduler;

/**
 * Limits of one engine step.
 *
 * @param maxBatchedTokens most tokens (decode tokens plus prefill chunk tokens) in one step
 * @param maxRunningSequences most sequences holding KV blocks and taking part in steps at once
 */
public record SchedulerConfig(int maxBatchedTokens, int maxRunningSequences) {
    public static final int DEFAULT_MAX_BATCHED_TOKENS = 2048;
    public static final int DEFAULT_MAX_RUNNING_SEQUENCES = 256;

    public SchedulerConfig {
        if (maxBatchedTokens < 1) {
            throw new IllegalArgumentException("max batched tokens must be at least 1, got " + maxBatchedTokens);
        }
        if (maxRunningSequences < 1) {
            throw new IllegalArgumentException("max running sequences must be at least 1, got "
                    + maxRunningSequences);
        }
    }

    public static SchedulerConfig defaults() {
        return new SchedulerConfig(DEFAULT_MAX_BATCHED_TOKENS, DEFAULT_MAX_RUNNING_SEQUENCES);
    }
}
