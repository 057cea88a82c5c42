package dev.afd.gateway.openai;

import java.util.List;

/**
 * A token as the logprobs fields report it.
 *
 * @param token the token's text
 * @param logprob its log-probability under the model's raw distribution
 * @param top the most likely alternatives at that step (empty unless asked for); null for a token that has no
 *     log-probability (the first token of an echoed prompt), reported as nulls
 */
public record TokenLogprob(String token, float logprob, List<TokenLogprob> top) {
    public TokenLogprob {
        top = top == null ? null : List.copyOf(top);
    }

    /** A token with no log-probability: the first of a prompt, which nothing predicts. */
    public static TokenLogprob unscored(String token) {
        return new TokenLogprob(token, Float.NaN, null);
    }
}
