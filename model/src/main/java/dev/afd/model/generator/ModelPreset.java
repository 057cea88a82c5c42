package dev.afd.model.generator;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.afd.model.family.ModelConfig;
import dev.afd.model.family.ModelFamilies;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Model shapes for generated checkpoints, written as the config.json keys they become; {@code model_type} picks the
 * family. The Step-3 presets keep Step-3's structure: MFA attention with one KV head and a low-rank query, dense
 * first and last layers, MoE layers with a shared expert in between.
 */
public enum ModelPreset {
    /** About 0.27 M parameters (0.5 MB in bf16): for unit tests. */
    TINY("""
            {"hidden_size": 64, "num_hidden_layers": 4, "num_attention_heads": 4, "head_dim": 16,
             "share_q_dim": 32, "intermediate_size": 128, "moe_layers_enum": "1,2", "moe_num_experts": 8,
             "moe_top_k": 2, "moe_intermediate_size": 32, "share_expert_dim": 32, "vocab_size": 512,
             "max_position_embedding": 4096, "num_attention_groups": 1, "rope_theta": 500000.0,
             "rms_norm_eps": 1e-5}
            """),
    /** Step-3's proportions at 0.47 B parameters (0.93 GB in bf16): 48 experts, top-3, a shared expert. */
    SMALL("""
            {"hidden_size": 1024, "num_hidden_layers": 12, "num_attention_heads": 16, "head_dim": 128,
             "share_q_dim": 512, "intermediate_size": 2816, "moe_layers_enum": "1,2,3,4,5,6,7,8,9,10",
             "moe_num_experts": 48, "moe_top_k": 3, "moe_intermediate_size": 256, "share_expert_dim": 256,
             "vocab_size": 8192, "max_position_embedding": 16384, "num_attention_groups": 1, "rope_theta": 500000.0,
             "rms_norm_eps": 1e-5}
            """),
    /**
     * A Step-3.5 model of 0.44 M parameters for unit tests: full + 3 sliding layers (window 16, so tests run
     * past it), GQA with more query heads on sliding layers, partial rotary with llama3 scaling on full layers,
     * the head-wise gate, 8 experts top-2 from layer 2, SwiGLU limits that clamp on some layers, one MTP layer.
     */
    STEP3P5_TINY("""
            {"model_type": "step3p5", "hidden_size": 64, "num_hidden_layers": 5, "num_attention_heads": 4,
             "num_attention_groups": 2, "head_dim": 16,
             "attention_other_setting": {"attention_type": "sliding_attention", "num_attention_heads": 6,
                                         "num_attention_groups": 2, "head_dim": 16},
             "layer_types": ["full_attention", "sliding_attention", "sliding_attention", "sliding_attention",
                             "full_attention", "sliding_attention"],
             "sliding_window": 16,
             "rope_theta": [5000000.0, 10000.0, 10000.0, 10000.0, 5000000.0, 10000.0],
             "partial_rotary_factors": [0.5, 1.0, 1.0, 1.0, 0.5, 1.0],
             "rope_scaling": {"rope_type": "llama3", "factor": 2.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                              "original_max_position_embeddings": 64},
             "yarn_only_types": ["full_attention"],
             "intermediate_size": 128, "moe_layers_enum": "2,3,4", "moe_num_experts": 8, "moe_top_k": 2,
             "moe_intermediate_size": 32, "share_expert_dim": 32, "moe_router_scaling_factor": 3.0,
             "use_moe_router_bias": true,
             "swiglu_limits": [0.0, 0.0, 1.0, 0.0, 1.0, 0.0],
             "swiglu_limits_shared": [0.0, 1.0, 0.0, 1.5, 1.0, 1.0],
             "use_head_wise_attn_gate": true, "zero_centered": true, "num_nextn_predict_layers": 1,
             "vocab_size": 512, "rms_norm_eps": 1e-5, "max_position_embeddings": 4096}
            """),
    /**
     * Step-3.5-Flash's proportions at 0.53 B parameters: 12 layers (full + 3 sliding, window 128), 16 / 24
     * query heads on 2 KV groups, 48 experts top-4 of width 256 and a shared expert from layer 2, 3 MTP layers.
     */
    STEP3P5_SMALL("""
            {"model_type": "step3p5", "hidden_size": 1024, "num_hidden_layers": 12, "num_attention_heads": 16,
             "num_attention_groups": 2, "head_dim": 64,
             "attention_other_setting": {"attention_type": "sliding_attention", "num_attention_heads": 24,
                                         "num_attention_groups": 2, "head_dim": 64},
             "layer_types": ["full_attention", "sliding_attention", "sliding_attention", "sliding_attention",
                             "full_attention", "sliding_attention", "sliding_attention", "sliding_attention",
                             "full_attention", "sliding_attention", "sliding_attention", "sliding_attention",
                             "sliding_attention", "sliding_attention", "sliding_attention"],
             "sliding_window": 128,
             "rope_theta": [5000000.0, 10000.0, 10000.0, 10000.0, 5000000.0, 10000.0, 10000.0, 10000.0,
                            5000000.0, 10000.0, 10000.0, 10000.0, 10000.0, 10000.0, 10000.0],
             "partial_rotary_factors": [0.5, 1.0, 1.0, 1.0, 0.5, 1.0, 1.0, 1.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
             "rope_scaling": {"rope_type": "llama3", "factor": 2.0, "low_freq_factor": 1.0, "high_freq_factor": 32.0,
                              "original_max_position_embeddings": 8192},
             "yarn_only_types": ["full_attention"],
             "intermediate_size": 2816, "moe_layers_enum": "2,3,4,5,6,7,8,9,10,11", "moe_num_experts": 48,
             "moe_top_k": 4, "moe_intermediate_size": 256, "share_expert_dim": 256,
             "moe_router_scaling_factor": 3.0, "use_moe_router_bias": true,
             "swiglu_limits": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7.0, 7.0, 0, 0, 0],
             "swiglu_limits_shared": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16.0, 0, 0, 0],
             "use_head_wise_attn_gate": true, "zero_centered": true, "num_nextn_predict_layers": 3,
             "vocab_size": 8192, "rms_norm_eps": 1e-5, "max_position_embeddings": 16384}
            """);

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String shape;

    ModelPreset(String shape) {
        this.shape = shape;
    }

    /** The name used on the command line: {@code tiny}, {@code step3p5-tiny}, ... */
    public String id() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The preset's config with the given {@code norm_expert_weight} and the generated tokenizer's special ids. */
    public ModelConfig config(boolean normExpertWeight) {
        try {
            ObjectNode c = (ObjectNode) JSON.readTree(shape);
            SpecialTokens special = SpecialTokens.forVocab(c.path("vocab_size").asInt());
            c.put("norm_expert_weight", normExpertWeight);
            c.put("bos_token_id", special.beginOfText());
            c.put("eos_token_id", special.endOfText());
            return ModelFamilies.fromJson(c, "preset " + id());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("preset " + id() + " is not valid JSON", e);
        }
    }

    /** Parses a preset name such as {@code tiny}. */
    public static ModelPreset parse(String name) {
        for (ModelPreset p : values()) {
            if (p.id().equalsIgnoreCase(name)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown preset '" + name + "'; expected one of "
                + Arrays.stream(values()).map(ModelPreset::id).collect(Collectors.joining(", ")));
    }
}
