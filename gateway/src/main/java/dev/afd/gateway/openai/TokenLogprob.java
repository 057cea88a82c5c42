package dev.afd.gateway.openai;

import java.util.List;

/**
 * A generated token as the logprobs fields report it.
 *
 * @param token the token's text
 * @param logprob its log-probability under the model's raw distribution
 * @param top the most likely alternatives at that step (empty unless asked for)
 */
public record TokenLogprob(String token, float logprob, List<TokenLogprob> top) {
    public TokenLogprob {
        top = List.copyOf(top);
    }
}
