package dev.afd.model.step3p5;

import dev.afd.model.tensor.Tensor;

/**
 * One multi-token-prediction layer ({@code model.layers.{N+k}}): it mixes the main model's hidden state with the
 * next token's embedding, runs one decoder block, and predicts the token after that with its own head.
 *
 * @param enorm norm of the next token's embedding [H]
 * @param hnorm norm of the main model's hidden state [H]
 * @param ehProj [H, 2H], applied to {@code concat(enorm(e), hnorm(h))}
 * @param block the decoder block (dense MLP)
 * @param headNorm {@code transformer.shared_head.norm} [H]
 * @param head {@code transformer.shared_head.output} [V, H]
 */
public record MtpWeights(Tensor enorm, Tensor hnorm, Tensor ehProj, Step3p5Layer block, Tensor headNorm,
        Tensor head) {}
