package dev.afd.model.step3;

import dev.afd.model.ffn.Routing;
import dev.afd.model.kernels.MatMul;
import dev.afd.model.kernels.Softmax;
import dev.afd.model.kernels.TopK;
import dev.afd.model.tensor.Tensor;

/**
 * Step-3's MoE router: {@code probs = softmax(router · f)} over all experts, the top-k experts by probability, their
 * raw probabilities as weights (divided by their sum only when {@code norm_expert_weight} is set). No bias, no
 * scaling, no group-limited routing.
 */
public final class Router {
    private Router() {}

    public static Routing route(Tensor router, float[] f, int rows, int k, boolean normalize) {
        int experts = router.rows();
        float[] probs = new float[rows * experts];
        MatMul.matmul(router, f, rows, probs);
        int[] ids = new int[rows * k];
        float[] weights = new float[rows * k];
        for (int r = 0; r < rows; r++) {
            int off = r * experts;
            Softmax.softmax(probs, off, experts);
            int[] top = TopK.topK(probs, off, experts, k);
            float sum = 0;
            for (int j = 0; j < k; j++) {
                ids[r * k + j] = top[j];
                weights[r * k + j] = probs[off + top[j]];
                sum += weights[r * k + j];
            }
            if (normalize) {
                for (int j = 0; j < k; j++) {
                    weights[r * k + j] /= sum;
                }
            }
        }
        return new Routing(rows, k, ids, weights);
    }
}
