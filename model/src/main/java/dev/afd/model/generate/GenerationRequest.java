package dev.afd.model.generate;

import dev.afd.model.family.ModelConfig;
import dev.afd.model.grammar.Grammar;
import dev.afd.model.sampling.LogitControls;
import dev.afd.model.sampling.SamplingParams;
import java.util.Set;

/**
 * One prompt to continue.
 *
 * @param promptIds the prompt's token ids (at least one)
 * @param maxTokens most tokens to generate
 * @param sampling how to pick tokens
 * @param ignoreEos keep generating past the model's end-of-sequence tokens
 * @param stopTokenIds further ids that end the sequence
 * @param minTokens end-of-sequence and stop ids are not sampled before this many tokens were generated
 * @param grammar the output must be a sentence of this grammar (structured output); null for free text
 * @param logitControls allowed tokens and logit bias ({@link LogitControls#NONE} for none)
 * @param promptLogprobs report each prompt token's log-probability with this many most likely alternatives (0-20);
 *     {@link #NO_PROMPT_LOGPROBS} for none. Such a request computes its whole prompt (no prefix cache hit).
 */
public record GenerationRequest(int[] promptIds, int maxTokens, SamplingParams sampling, boolean ignoreEos,
        Set<Integer> stopTokenIds, int minTokens, Grammar grammar, LogitControls logitControls, int promptLogprobs) {
    public static final int NO_PROMPT_LOGPROBS = -1;

    public GenerationRequest {
        stopTokenIds = Set.copyOf(stopTokenIds);
        if (promptLogprobs < NO_PROMPT_LOGPROBS || promptLogprobs > SamplingParams.MAX_TOP_LOGPROBS) {
            throw new SamplingParams.InvalidSamplingException("prompt_logprobs", "prompt_logprobs must be between 0"
                    + " and " + SamplingParams.MAX_TOP_LOGPROBS + ", got " + promptLogprobs);
        }
        if (promptIds.length == 0) {
            throw new IllegalArgumentException("the prompt is empty: give at least one token");
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max_tokens must be at least 1, got " + maxTokens);
        }
        if (grammar != null && ignoreEos) {
            throw new IllegalArgumentException("ignore_eos cannot be combined with structured output: the sequence"
                    + " must end where the grammar does; drop one of them");
        }
        if (minTokens < 0 || minTokens > maxTokens) {
            throw new IllegalArgumentException("min_tokens must be between 0 and max_tokens (" + maxTokens + "), got "
                    + minTokens);
        }
    }

    /**
     * Checks that the request can run on a model with config {@code c}.
     *
     * @throws IllegalArgumentException naming the token id outside the vocabulary, or stating the context length
     *     and the request's token counts
     */
    public void requireFits(ModelConfig c) {
        for (int id : promptIds) {
            if (id < 0 || id >= c.vocabSize()) {
                throw new IllegalArgumentException("prompt token id " + id + " is outside the vocabulary [0, "
                        + c.vocabSize() + ")");
            }
        }
        logitControls.requireInVocabulary(c.vocabSize());
        if ((long) promptIds.length + maxTokens > c.maxPositions()) {
            throw new IllegalArgumentException("the prompt (" + promptIds.length + " tokens) plus max_tokens ("
                    + maxTokens + ") exceeds the model's context of " + c.maxPositions() + " tokens");
        }
    }

    /** A request with no extra stop ids and no minimum length. */
    public GenerationRequest(int[] promptIds, int maxTokens, SamplingParams sampling, boolean ignoreEos) {
        this(promptIds, maxTokens, sampling, ignoreEos, Set.of(), 0, null, LogitControls.NONE, NO_PROMPT_LOGPROBS);
    }

    /** A request for free text. */
    public GenerationRequest(int[] promptIds, int maxTokens, SamplingParams sampling, boolean ignoreEos,
            Set<Integer> stopTokenIds, int minTokens) {
        this(promptIds, maxTokens, sampling, ignoreEos, stopTokenIds, minTokens, null, LogitControls.NONE,
                NO_PROMPT_LOGPROBS);
    }

    public boolean wantsPromptLogprobs() {
        return promptLogprobs != NO_PROMPT_LOGPROBS;
    }
}
