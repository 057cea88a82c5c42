package dev.afd.bench.cost;

import java.util.Locale;

/**
 * The feed-forward side of every layer: {@code denseLayers} plain gated MLPs of width {@code denseWidth}, and
 * {@code moeLayers} MoE blocks of {@code routedExperts} experts (each a gated MLP of width {@code expertWidth}), of
 * which {@code topK} run per token, plus {@code sharedExperts} always-on experts of width {@code sharedWidth}.
 *
 * <p>A gated MLP of width {@code w} holds {@code 3·hidden·w} weights (gate, up, down). FFN FLOPs per token are
 * {@code 2 ×} the weights a token activates; the router ({@code hidden × routedExperts} per MoE layer) is left out of
 * the FLOPs, as in the paper (with it DeepSeek-V3 would be 4.86e10 rather than 4.84e10, Qwen3-MoE 2.85e10 rather than
 * 2.84e10), but it is part of the stored weights.
 */
public record FfnSpec(int denseLayers, long denseWidth, int moeLayers, int routedExperts, int topK,
        int sharedExperts, long expertWidth, long sharedWidth) {

    public FfnSpec {
        if (denseLayers < 0 || moeLayers < 0 || denseLayers + moeLayers == 0) {
            throw new CostInputException("a model needs at least one FFN layer, got " + denseLayers + " dense and "
                    + moeLayers + " MoE");
        }
        if (denseLayers > 0 && denseWidth <= 0) {
            throw new CostInputException("intermediate_size must be positive for the " + denseLayers
                    + " dense layer(s), got " + denseWidth);
        }
        if (moeLayers > 0) {
            if (routedExperts <= 0 || topK <= 0 || topK > routedExperts || expertWidth <= 0) {
                throw new CostInputException(String.format(Locale.ROOT, "MoE layers need experts > 0, 0 < top-k <="
                        + " experts and a positive expert width; got %d experts, top-%d, width %d",
                        routedExperts, topK, expertWidth));
            }
            if (sharedExperts < 0 || (sharedExperts > 0 && sharedWidth <= 0)) {
                throw new CostInputException("shared experts need a positive width, got " + sharedExperts + " of "
                        + sharedWidth);
            }
        }
    }

    /** A model with only dense MLPs. */
    public static FfnSpec dense(int layers, long width) {
        return new FfnSpec(layers, width, 0, 0, 0, 0, 0, 0);
    }

    public int layers() {
        return denseLayers + moeLayers;
    }

    /** FFN weights one token runs through, over all layers (router excluded). */
    public long activatedParams(long hidden) {
        return denseLayers * mlp(hidden, denseWidth)
                + moeLayers * (topK * mlp(hidden, expertWidth) + sharedExperts * mlp(hidden, sharedWidth));
    }

    /** FFN FLOPs per decoded token, over all layers. */
    public double flopsPerToken(long hidden) {
        return 2.0 * activatedParams(hidden);
    }

    /** Every stored FFN weight: all experts, shared experts and routers. */
    public long totalParams(long hidden) {
        return denseLayers * mlp(hidden, denseWidth)
                + moeLayers * (routedExperts * mlp(hidden, expertWidth) + sharedExperts * mlp(hidden, sharedWidth)
                        + hidden * routedExperts);
    }

    /**
     * Weights a micro-batch of {@code tokens} reads once through all layers: the dense MLPs, the shared experts,
     * the routers, and the routed experts at least one token picks, expected under uniform routing:
     * {@code E·(1 - (1 - k/E)^tokens)}.
     */
    public double streamedParams(long hidden, long tokens) {
        double distinct = moeLayers == 0 ? 0
                : routedExperts * (1 - Math.pow(1 - (double) topK / routedExperts, tokens));
        return denseLayers * (double) mlp(hidden, denseWidth)
                + moeLayers * (distinct * mlp(hidden, expertWidth) + sharedExperts * mlp(hidden, sharedWidth)
                        + hidden * routedExperts);
    }

    public String shape() {
        StringBuilder s = new StringBuilder();
        if (denseLayers > 0) {
            s.append(denseLayers).append(" dense (width ").append(denseWidth).append(')');
        }
        if (moeLayers > 0) {
            if (!s.isEmpty()) {
                s.append(" + ");
            }
            s.append(String.format(Locale.ROOT, "%d MoE (%d experts of width %d, top-%d", moeLayers, routedExperts,
                    expertWidth, topK));
            if (sharedExperts > 0) {
                s.append(String.format(Locale.ROOT, ", %d shared of width %d", sharedExperts, sharedWidth));
            }
            s.append(')');
        }
        return s.toString();
    }

    private static long mlp(long hidden, long width) {
        return 3 * hidden * width;
    }
}
