package dev.afd.gateway.openai;

import dev.afd.model.grammar.Grammar;
import dev.afd.model.sampling.LogitControls;
import dev.afd.model.sampling.SamplingParams;
import java.util.Arrays;
import java.util.List;

/**
 * What both generation endpoints ask of each choice, validated.
 *
 * @param maxTokens most tokens per choice; null when the request left it to the server
 * @param sampling temperature, filters, penalties, seed and the number of alternatives to report per token
 * @param n choices per prompt
 * @param stop strings that end a choice when they appear in its text; not returned unless
 *     {@code includeStopStrInOutput}
 * @param stopTokenIds token ids that end a choice (besides the model's end-of-sequence ids)
 * @param logprobs report each chosen token's log-probability (and {@code sampling.topLogprobs()} alternatives)
 * @param echo completions only: prefix each choice's text with its prompt
 * @param stream answer as server-sent events
 * @param includeUsage streaming only: end with a chunk that carries usage
 * @param ignoreEos keep generating past end-of-sequence tokens
 * @param minTokens end-of-sequence and stop ids are not sampled before this many tokens
 * @param includeStopStrInOutput vLLM's {@code include_stop_str_in_output}: the matched stop string, or the text of
 *     the stop token that ended the choice, stays at the end of its text
 * @param skipSpecialTokens vLLM's {@code skip_special_tokens} (default true): special tokens are left out of the text
 * @param grammar what the output must follow (structured output); null for free text
 * @param logitControls vLLM's {@code allowed_token_ids} and OpenAI's {@code logit_bias}
 * @param promptLogprobs report each prompt token's log-probability with this many alternatives (vLLM's
 *     {@code prompt_logprobs}; completions' {@code echo} with {@code logprobs}); -1 for none
 * @param truncatePromptTokens keep only the prompt's last this many tokens (vLLM's {@code truncate_prompt_tokens});
 *     -1 for the model's context length; null to keep it whole
 */
public record GenerationSettings(Integer maxTokens, SamplingParams sampling, int n, List<String> stop,
        List<Integer> stopTokenIds, boolean logprobs, boolean echo, boolean stream, boolean includeUsage,
        boolean ignoreEos, int minTokens, boolean includeStopStrInOutput, boolean skipSpecialTokens,
        Grammar grammar, LogitControls logitControls, int promptLogprobs, Integer truncatePromptTokens) {
    public GenerationSettings {
        stop = List.copyOf(stop);
        stopTokenIds = List.copyOf(stopTokenIds);
    }

    /** These settings with {@code g} as what the output must follow. */
    public GenerationSettings withGrammar(Grammar g) {
        return new GenerationSettings(maxTokens, sampling, n, stop, stopTokenIds, logprobs, echo, stream, includeUsage,
                ignoreEos, minTokens, includeStopStrInOutput, skipSpecialTokens, g, logitControls, promptLogprobs,
                truncatePromptTokens);
    }

    /** These settings asking for the prompt's log-probabilities with {@code top} alternatives. */
    public GenerationSettings withPromptLogprobs(int top) {
        return new GenerationSettings(maxTokens, sampling, n, stop, stopTokenIds, logprobs, echo, stream, includeUsage,
                ignoreEos, minTokens, includeStopStrInOutput, skipSpecialTokens, grammar, logitControls, top,
                truncatePromptTokens);
    }

    public boolean wantsPromptLogprobs() {
        return promptLogprobs >= 0;
    }

    /**
     * {@code ids} cut to their last {@link #truncatePromptTokens} tokens (-1: {@code contextLength}), or whole when
     * not asked to truncate.
     */
    public int[] truncate(int[] ids, int contextLength) {
        if (truncatePromptTokens == null) {
            return ids;
        }
        int keep = truncatePromptTokens == -1 ? contextLength : truncatePromptTokens;
        return ids.length <= keep ? ids : Arrays.copyOfRange(ids, ids.length - keep, ids.length);
    }
}
