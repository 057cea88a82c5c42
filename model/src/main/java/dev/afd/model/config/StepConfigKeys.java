package dev.afd.model.config;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The {@code config.json} keys both StepFun families (Step-3, Step-3.5) write alike: the MoE layout and the special
 * token ids with the closing keys.
 */
public final class StepConfigKeys {
    private StepConfigKeys() {}

    /** {@code moe_layers_enum}, experts, top-k, widths and {@code norm_expert_weight}. */
    public static void putMoe(ObjectNode n, List<Integer> moeLayers, int experts, int topK, int moeIntermediate,
            int shareExpertDim, boolean normExpertWeight) {
        n.put("moe_layers_enum", moeLayers.stream().map(String::valueOf).collect(Collectors.joining(",")));
        n.put("moe_num_experts", experts);
        n.put("moe_top_k", topK);
        n.put("moe_intermediate_size", moeIntermediate);
        n.put("share_expert_dim", shareExpertDim);
        n.put("norm_expert_weight", normExpertWeight);
    }

    /**
     * {@code max_seq_len}, the activation, the bos and eos ids (one eos as a number, several as a list) and untied
     * embeddings.
     */
    public static void putClosing(ObjectNode n, int maxPositions, int bosTokenId, List<Integer> eosTokenIds) {
        n.put("max_seq_len", maxPositions);
        n.put("hidden_act", "silu");
        n.put("bos_token_id", bosTokenId);
        if (eosTokenIds.size() == 1) {
            n.put("eos_token_id", eosTokenIds.getFirst());
        } else {
            eosTokenIds.forEach(n.putArray("eos_token_id")::add);
        }
        n.put("tie_word_embeddings", false);
    }
}
