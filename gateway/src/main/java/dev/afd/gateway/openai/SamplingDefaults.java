package dev.afd.gateway.openai;

/**
 * Sampling values a request gets for the fields it leaves out: the model's {@code generation_config.json} where it
 * sets them (as vLLM does), OpenAI's neutral values otherwise.
 */
public record SamplingDefaults(double temperature, double topP, int topK, double minP, double repetitionPenalty) {
    public static SamplingDefaults neutral() {
        return new SamplingDefaults(1.0, 1.0, 0, 0.0, 1.0);
    }
}
