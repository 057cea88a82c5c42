package dev.afd.model.family;

/**
 * What one forward step computed, for a caller that needs more than the logits.
 *
 * @param logits per chunk, as {@link CausalLm#forward} returns them
 * @param hidden per chunk, the residual stream after the last layer and before the final norm, every row of the
 *     chunk ({@code tokens.length × hiddenSize} floats): what multi-token-prediction layers take
 */
public record StepOutput(float[][] logits, float[][] hidden) {}
