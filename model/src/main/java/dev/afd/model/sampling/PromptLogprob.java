package dev.afd.model.sampling;

import java.util.List;

/**
 * A prompt token's log-probability given the tokens before it, its rank in that distribution (1 = most likely), and
 * the most likely tokens there when asked for: vLLM's {@code prompt_logprobs} entry.
 */
public record PromptLogprob(int token, float logprob, int rank, List<TokenLogprob> top) {}
