package dev.afd.model.step3p5;

import dev.afd.model.ffn.Routing;
import dev.afd.model.kernels.MatMul;
import dev.afd.model.kernels.TopK;
import dev.afd.model.tensor.Tensor;

/**
 * Step-3.5's MoE router: f32 logits {@code router · f}, {@code scores = sigmoid(logits)}; the top-k experts by
 * {@code scores + bias} (the selection bias only chooses), weighted by their unbiased scores, divided by the sum of
 * the chosen ones when {@code norm_expert_weight} is set, then multiplied by {@code moe_router_scaling_factor}.
 */
public final class SigmoidRouter {
    private SigmoidRouter() {}

    /**
     * @param bias the selection bias [E], or null for none
     */
    public static Routing route(Tensor router, Tensor bias, float[] f, int rows, int k, boolean normalize,
            float scale) {
        int experts = router.rows();
        float[] logits = new float[rows * experts];
        MatMul.matmul(router, f, rows, logits);
        float[] b = new float[experts];
        if (bias != null) {
            bias.copyTo(0, b, 0, experts);
        }
        int[] ids = new int[rows * k];
        float[] weights = new float[rows * k];
        float[] scores = new float[experts];
        float[] biased = new float[experts];
        for (int r = 0; r < rows; r++) {
            for (int e = 0; e < experts; e++) {
                scores[e] = (float) (1.0 / (1.0 + Math.exp(-logits[r * experts + e])));
                biased[e] = scores[e] + b[e];
            }
            int[] top = TopK.topK(biased, 0, experts, k);
            float sum = 0;
            for (int j = 0; j < k; j++) {
                ids[r * k + j] = top[j];
                weights[r * k + j] = scores[top[j]];
                sum += weights[r * k + j];
            }
            for (int j = 0; j < k; j++) {
                weights[r * k + j] = (normalize ? weights[r * k + j] / sum : weights[r * k + j]) * scale;
            }
        }
        return new Routing(rows, k, ids, weights);
    }
}
