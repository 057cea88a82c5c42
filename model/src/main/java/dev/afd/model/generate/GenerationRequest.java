package dev.afd.model.generate;

import dev.afd.model.sampling.SamplingParams;

/**
 * One prompt to continue.
 *
 * @param promptIds the prompt's token ids (at least one)
 * @param maxTokens most tokens to generate
 * @param sampling how to pick tokens
 * @param ignoreEos keep generating past end-of-sequence tokens
 */
public record GenerationRequest(int[] promptIds, int maxTokens, SamplingParams sampling, boolean ignoreEos) {
    public GenerationRequest {
        if (promptIds.length == 0) {
            throw new IllegalArgumentException("the prompt is empty: give at least one token");
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max_tokens must be at least 1, got " + maxTokens);
        }
    }
}
