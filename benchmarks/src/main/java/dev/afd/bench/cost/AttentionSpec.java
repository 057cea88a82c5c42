package dev.afd.bench.cost;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Locale;

/**
 * One layer's attention as the cost model sees it: what it caches per token, what one decoded token spends on the
 * attention product itself, and how many weights the projections around it hold.
 *
 * <p>Counting conventions (they are the ones that reproduce the Step-3 paper's Tables 2 and 3):
 * <ul>
 *   <li>A multiply-add is 2 FLOPs. The attention product of one decoded token against {@code c} cached tokens is
 *       {@code 2·c·d_k} per query head for the scores plus {@code 2·c·d_v} for the weighted values; softmax, RoPE,
 *       norms and scaling are not counted.
 *   <li>"Linear" FLOPs are {@code 2 ×} the projection weights before and after attention (query, key/value, output,
 *       low-rank factors). Embedding, {@code lm_head}, norms and the MoE router are not counted.
 * </ul>
 */
public sealed interface AttentionSpec permits AttentionSpec.PlainHeads, AttentionSpec.Mla {

    /** {@code "MFA"}, {@code "MLA"} or {@code "GQA"}. */
    @JsonProperty("kind")
    String kind();

    /** Values cached per token per layer (before choosing how many bytes each value takes). */
    long kvValuesPerToken();

    /** Attention-product FLOPs per decoded token per layer per cached token; times the context gives the total. */
    long flopsPerContextToken();

    /** The same figure as an expression, for printing. */
    String flopsPerContextTokenExpression();

    /** Weights of the projections before and after attention, per layer. */
    long projectionParams(long hidden);

    /** A one-line description of the shape. */
    String shape();

    /**
     * Attention whose {@code kvHeads} cached K/V heads have the query heads' width (MFA, GQA): each cached token
     * holds a key and a value per K/V head, and each query head spends {@code 2·(d + d)} FLOPs on it.
     */
    sealed interface PlainHeads extends AttentionSpec permits Mfa, Gqa {
        int heads();

        int kvHeads();

        int headDim();

        @Override
        default long kvValuesPerToken() {
            return 2L * kvHeads() * headDim();
        }

        @Override
        default long flopsPerContextToken() {
            return 2L * heads() * (headDim() + headDim());
        }

        @Override
        default String flopsPerContextTokenExpression() {
            return "2 x " + heads() + " heads x (" + headDim() + " + " + headDim() + ")";
        }
    }

    /**
     * Multi-matrix factorization attention (Step-3): a low-rank query ({@code hidden → queryRank → heads·headDim})
     * against {@code kvHeads} shared K/V heads projected straight from the hidden state.
     */
    record Mfa(int heads, int kvHeads, int headDim, int queryRank) implements PlainHeads {
        public Mfa {
            positive("num_attention_heads", heads);
            positive("num_attention_groups", kvHeads);
            positive("head_dim", headDim);
            positive("share_q_dim", queryRank);
        }

        @Override
        public String kind() {
            return "MFA";
        }

        @Override
        public long projectionParams(long hidden) {
            long q = heads * (long) headDim;
            return hidden * queryRank + (long) queryRank * q + 2 * hidden * kvHeads * headDim + q * hidden;
        }

        @Override
        public String shape() {
            return String.format(Locale.ROOT, "MFA, %d query heads x %d, %d KV head(s), low-rank query %d",
                    heads, headDim, kvHeads, queryRank);
        }
    }

    /**
     * Multi-head latent attention (DeepSeek-V2/V3). Decoding runs it in the absorbed form: every query head attends
     * to the cached latent ({@code kvLoraRank}) plus the shared RoPE key ({@code qkRopeHeadDim}), like one MQA head
     * of that width; {@code kv_b_proj} is applied as query and output absorption, so it counts once as a linear.
     *
     * <p>The value product is counted at the full cached width too ({@code 2·c·(kvLoraRank + qkRopeHeadDim)} per
     * head, not {@code kvLoraRank}): the paper's 1.47e11 FLOPs for DeepSeek-V3 at 8K comes out only that way, and
     * it makes the paper's "512 FLOPs per KV byte" for MLA exact; counting 512 for values would give 1.39e11.
     *
     * @param qLoraRank low-rank query width, or 0 when the model projects the query directly
     */
    record Mla(int heads, int qLoraRank, int kvLoraRank, int qkNopeHeadDim, int qkRopeHeadDim, int vHeadDim)
            implements AttentionSpec {
        public Mla {
            positive("num_attention_heads", heads);
            positive("kv_lora_rank", kvLoraRank);
            positive("qk_nope_head_dim", qkNopeHeadDim);
            positive("qk_rope_head_dim", qkRopeHeadDim);
            positive("v_head_dim", vHeadDim);
            if (qLoraRank < 0) {
                throw new CostInputException("q_lora_rank must be 0 (none) or positive, got " + qLoraRank);
            }
        }

        private int cachedWidth() {
            return kvLoraRank + qkRopeHeadDim;
        }

        @Override
        public String kind() {
            return "MLA";
        }

        @Override
        public long kvValuesPerToken() {
            return cachedWidth();
        }

        @Override
        public long flopsPerContextToken() {
            return 2L * heads * (cachedWidth() + cachedWidth());
        }

        @Override
        public String flopsPerContextTokenExpression() {
            return "2 x " + heads + " heads x (" + cachedWidth() + " + " + cachedWidth() + ")";
        }

        @Override
        public long projectionParams(long hidden) {
            long qHead = qkNopeHeadDim + qkRopeHeadDim;
            long query = qLoraRank == 0 ? hidden * heads * qHead
                    : hidden * qLoraRank + (long) qLoraRank * heads * qHead;
            long kvDown = hidden * cachedWidth();
            long kvUp = (long) kvLoraRank * heads * (qkNopeHeadDim + vHeadDim);
            long out = (long) heads * vHeadDim * hidden;
            return query + kvDown + kvUp + out;
        }

        @Override
        public String shape() {
            return String.format(Locale.ROOT, "MLA, %d heads, latent %d + RoPE %d cached, q rank %s, v %d",
                    heads, kvLoraRank, qkRopeHeadDim, qLoraRank == 0 ? "full" : Integer.toString(qLoraRank),
                    vHeadDim);
        }
    }

    /** Grouped-query attention (Llama, Qwen): {@code kvHeads} K/V heads shared by groups of query heads. */
    record Gqa(int heads, int kvHeads, int headDim) implements PlainHeads {
        public Gqa {
            positive("num_attention_heads", heads);
            positive("num_key_value_heads", kvHeads);
            positive("head_dim", headDim);
            if (heads % kvHeads != 0) {
                throw new CostInputException("num_attention_heads (" + heads + ") must be a multiple of"
                        + " num_key_value_heads (" + kvHeads + ")");
            }
        }

        @Override
        public String kind() {
            return "GQA";
        }

        @Override
        public long projectionParams(long hidden) {
            long q = heads * (long) headDim;
            return hidden * q + 2 * hidden * kvHeads * headDim + q * hidden;
        }

        @Override
        public String shape() {
            return String.format(Locale.ROOT, "GQA, %d query heads x %d, %d KV heads", heads, headDim, kvHeads);
        }
    }

    private static void positive(String key, int value) {
        if (value <= 0) {
            throw new CostInputException(key + " must be positive, got " + value);
        }
    }
}
