package dev.afd.gateway.openai;

import java.util.List;

/**
 * A prompt token as vLLM's {@code prompt_logprobs} reports it: its log-probability given the tokens before it, its
 * rank there (1 = most likely), and the most likely tokens at that position (their ranks 1, 2, ...; no further
 * alternatives of their own).
 *
 * @param tokenId the token
 * @param token its text
 */
public record PromptLogprob(int tokenId, String token, float logprob, int rank, List<PromptLogprob> top) {
    public PromptLogprob {
        top = List.copyOf(top);
    }

    /** This entry in the completions {@code logprobs} shape (for {@code echo}). */
    public TokenLogprob asTokenLogprob() {
        return new TokenLogprob(token, logprob, top.stream().map(PromptLogprob::asTokenLogprob).toList());
    }
}
