package dev.afd.model.generate;

import dev.afd.model.sampling.TokenLogprob;
import java.util.List;

/**
 * What a request produced.
 *
 * @param tokenIds generated tokens only (the end-of-sequence token included when it stopped the sequence)
 * @param logprobs log-probability of each generated token
 * @param topLogprobs the most likely alternatives at each step (empty lists unless asked for)
 * @param finishReason {@code "stop"} (end-of-sequence token) or {@code "length"} (max tokens or context reached)
 * @param promptTokens tokens in the prompt
 */
public record GenerationResult(
        int[] tokenIds, float[] logprobs, List<List<TokenLogprob>> topLogprobs, String finishReason,
        int promptTokens) {}
