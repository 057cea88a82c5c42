package dev.afd.model.sampling;

/**
 * How to pick the next token, with OpenAI/vLLM meanings. Build from {@link #greedy()} or {@link #defaults()} with the
 * {@code with...} methods.
 *
 * @param temperature 0 means greedy (argmax); otherwise logits are divided by it before sampling
 * @param topK keep only the k most likely tokens; 0 (or -1) keeps all
 * @param topP keep the smallest set of most likely tokens whose probability reaches p; 1 keeps all
 * @param minP drop tokens less likely than {@code minP ×} the most likely one; 0 keeps all
 * @param seed seed of this sequence's random stream; {@code null} draws a fresh one
 * @param presencePenalty subtracted once from every token already generated
 * @param frequencyPenalty subtracted per occurrence of a token already generated
 * @param repetitionPenalty divides positive (multiplies negative) logits of tokens in the prompt or output; 1 is off
 * @param topLogprobs how many most-likely alternatives to report with each chosen token (0-20)
 */
public record SamplingParams(
        double temperature,
        int topK,
        double topP,
        double minP,
        Long seed,
        double presencePenalty,
        double frequencyPenalty,
        double repetitionPenalty,
        int topLogprobs) {

    public static final int MAX_TOP_LOGPROBS = 20;

    public SamplingParams {
        check(temperature >= 0 && Double.isFinite(temperature), "temperature", temperature, "must be >= 0");
        check(topK >= -1, "top_k", topK, "must be -1, 0 (all tokens) or a positive count");
        check(topP > 0 && topP <= 1, "top_p", topP, "must be in (0, 1]");
        check(minP >= 0 && minP <= 1, "min_p", minP, "must be in [0, 1]");
        check(presencePenalty >= -2 && presencePenalty <= 2, "presence_penalty", presencePenalty,
                "must be in [-2, 2]");
        check(frequencyPenalty >= -2 && frequencyPenalty <= 2, "frequency_penalty", frequencyPenalty,
                "must be in [-2, 2]");
        check(repetitionPenalty > 0 && Double.isFinite(repetitionPenalty), "repetition_penalty",
                repetitionPenalty, "must be > 0");
        check(topLogprobs >= 0 && topLogprobs <= MAX_TOP_LOGPROBS, "top_logprobs", topLogprobs,
                "must be in [0, " + MAX_TOP_LOGPROBS + "]");
    }

    /** Greedy decoding, no penalties, no alternatives reported. */
    public static SamplingParams greedy() {
        return new SamplingParams(0, 0, 1, 0, null, 0, 0, 1, 0);
    }

    /** OpenAI's defaults: temperature 1, every filter off. */
    public static SamplingParams defaults() {
        return greedy().withTemperature(1);
    }

    public boolean isGreedy() {
        return temperature < 1e-5;
    }

    public SamplingParams withTemperature(double t) {
        return new SamplingParams(t, topK, topP, minP, seed, presencePenalty, frequencyPenalty, repetitionPenalty,
                topLogprobs);
    }

    public SamplingParams withTopK(int k) {
        return new SamplingParams(temperature, k, topP, minP, seed, presencePenalty, frequencyPenalty,
                repetitionPenalty, topLogprobs);
    }

    public SamplingParams withTopP(double p) {
        return new SamplingParams(temperature, topK, p, minP, seed, presencePenalty, frequencyPenalty,
                repetitionPenalty, topLogprobs);
    }

    public SamplingParams withMinP(double p) {
        return new SamplingParams(temperature, topK, topP, p, seed, presencePenalty, frequencyPenalty,
                repetitionPenalty, topLogprobs);
    }

    public SamplingParams withSeed(Long s) {
        return new SamplingParams(temperature, topK, topP, minP, s, presencePenalty, frequencyPenalty,
                repetitionPenalty, topLogprobs);
    }

    public SamplingParams withPenalties(double presence, double frequency, double repetition) {
        return new SamplingParams(temperature, topK, topP, minP, seed, presence, frequency, repetition,
                topLogprobs);
    }

    public SamplingParams withTopLogprobs(int n) {
        return new SamplingParams(temperature, topK, topP, minP, seed, presencePenalty, frequencyPenalty,
                repetitionPenalty, n);
    }

    private static void check(boolean ok, String name, Object value, String rule) {
        if (!ok) {
            throw new InvalidSamplingException(name, name + " " + rule + ", got " + value);
        }
    }

    /** A sampling parameter out of range; {@link #parameter()} names it the way the OpenAI API does. */
    public static final class InvalidSamplingException extends IllegalArgumentException {
        private final String parameter;

        public InvalidSamplingException(String parameter, String message) {
            super(message);
            this.parameter = parameter;
        }

        public String parameter() {
            return parameter;
        }
    }
}
