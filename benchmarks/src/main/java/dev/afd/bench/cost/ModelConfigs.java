package dev.afd.bench.cost;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/**
 * Reads a {@link ModelSpec} from a Hugging Face {@code config.json}. Known layouts: {@code step3_text} and
 * {@code step3_vl} (MFA), {@code step3p5} (GQA interleaving full and sliding-window layers, + MoE), {@code deepseek_v2} and {@code deepseek_v3} (MLA), {@code qwen3_moe} (GQA + MoE), and
 * dense GQA models ({@code llama}, {@code mistral}, {@code qwen2}, {@code qwen3}).
 */
public final class ModelConfigs {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ModelConfigs() {}

    /** Reads {@code file}; the model is named after the file, or after its folder when the file is config.json. */
    public static ModelSpec read(Path file) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file));
        } catch (JsonProcessingException e) {
            throw new CostInputException(file + " is not valid JSON: " + e.getOriginalMessage());
        }
        String fileName = file.getFileName().toString();
        Path parent = file.toAbsolutePath().getParent();
        String name = fileName.equals("config.json") && parent != null && parent.getFileName() != null
                ? parent.getFileName().toString()
                : fileName.replaceFirst("\\.json$", "");
        return fromJson(root, name, file.toString());
    }

    /** Parses a config tree; {@code source} names it in error messages. */
    public static ModelSpec fromJson(JsonNode root, String name, String source) {
        if (root == null || !root.isObject()) {
            throw new CostInputException(source + ": expected a JSON object");
        }
        String type = root.path("model_type").asText("");
        if (type.equals("step3_vl")) {
            JsonNode text = root.path("text_config");
            if (!text.isObject()) {
                throw new CostInputException(source + ": a step3_vl config needs a text_config object");
            }
            return step3(new Keys(text, source + " text_config"), name, type);
        }
        Keys c = new Keys(root, source);
        return switch (type) {
            case "step3_text" -> step3(c, name, type);
            case "step3p5" -> step3p5(c, name, type);
            case "deepseek_v2", "deepseek_v3" -> deepseek(c, name, type);
            case "qwen3_moe" -> qwen3Moe(c, name, type);
            case "llama", "mistral", "qwen2", "qwen3" -> denseGqa(c, name, type);
            default -> throw new CostInputException(source + ": model_type '" + type + "' is not known to the cost"
                    + " model; known: step3_text, step3_vl, step3p5, deepseek_v2, deepseek_v3, qwen3_moe, llama, mistral,"
                    + " qwen2, qwen3");
        };
    }

    private static ModelSpec step3(Keys c, String name, String type) {
        int layers = c.integer("num_hidden_layers");
        int moe = step3MoeLayers(c, layers);
        int shareWidth = c.integer("share_expert_dim", 0);
        AttentionSpec attention = new AttentionSpec.Mfa(c.integer("num_attention_heads"),
                c.integer("num_attention_groups", 1), c.integer("head_dim"), c.integer("share_q_dim"));
        FfnSpec ffn = new FfnSpec(layers - moe, c.integer("intermediate_size"), moe,
                c.integer("moe_num_experts", 0), c.integer("moe_top_k", 0), shareWidth > 0 ? 1 : 0,
                c.integer("moe_intermediate_size", 0), shareWidth);
        return new ModelSpec(name, type, c.integer("hidden_size"), layers, c.integer("vocab_size"),
                c.bool("tie_word_embeddings", false), attention, ffn);
    }

    /**
     * Step-3.5: GQA on every layer, full attention where {@code layer_types} says {@code full_attention} and the
     * shape of {@code attention_other_setting} with a {@code sliding_window} elsewhere; MoE on
     * {@code moe_layers_enum}, one shared expert. The MTP layers (past {@code num_hidden_layers}) are not counted,
     * nor the head-wise gate's projection (heads x hidden per layer, under 0.1% of the weights).
     */
    private static ModelSpec step3p5(Keys c, String name, String type) {
        int layers = c.integer("num_hidden_layers");
        JsonNode types = c.node().path("layer_types");
        int sliding = 0;
        for (int i = 0; i < layers; i++) {
            sliding += types.isArray() && i < types.size() && types.get(i).asText().equals("full_attention") ? 0 : 1;
        }
        int headDim = c.integer("head_dim");
        AttentionSpec full = new AttentionSpec.Gqa(c.integer("num_attention_heads"),
                c.integer("num_attention_groups"), headDim);
        SlidingLayers window = SlidingLayers.none();
        if (sliding > 0) {
            Keys other = new Keys(c.node().path("attention_other_setting"), c.source() + " attention_other_setting");
            window = new SlidingLayers(sliding, new AttentionSpec.Gqa(other.integer("num_attention_heads"),
                    other.integer("num_attention_groups"), other.integer("head_dim", headDim)),
                    c.integer("sliding_window"));
        }
        int moe = c.node().path("moe_layers_enum").isMissingNode() ? 0 : step3MoeLayers(c, layers);
        int shareWidth = c.integer("share_expert_dim", 0);
        FfnSpec ffn = new FfnSpec(layers - moe, c.integer("intermediate_size"), moe,
                c.integer("moe_num_experts", 0), c.integer("moe_top_k", 0), shareWidth > 0 ? 1 : 0,
                c.integer("moe_intermediate_size", 0), shareWidth);
        return new ModelSpec(name, type, c.integer("hidden_size"), layers, c.integer("vocab_size"),
                c.bool("tie_word_embeddings", false), full, ffn, window);
    }

    /** {@code moe_layers_enum} is a comma string or a list; absent, every layer but the first is MoE. */
    private static int step3MoeLayers(Keys c, int layers) {
        JsonNode node = c.node().path("moe_layers_enum");
        if (node.isMissingNode() || node.isNull()) {
            return layers - 1;
        }
        Set<Integer> moe = new HashSet<>();
        if (node.isArray()) {
            node.forEach(n -> moe.add(n.asInt()));
        } else {
            for (String part : node.asText().split(",")) {
                if (part.isBlank()) {
                    continue;
                }
                try {
                    moe.add(Integer.parseInt(part.strip()));
                } catch (NumberFormatException e) {
                    throw new CostInputException(c.source() + ": moe_layers_enum has '" + part.strip()
                            + "', expected a comma-separated list of layer indices");
                }
            }
        }
        for (int layer : moe) {
            if (layer < 0 || layer >= layers) {
                throw new CostInputException(c.source() + ": moe_layers_enum names layer " + layer + " but the model"
                        + " has " + layers + " layers");
            }
        }
        return moe.size();
    }

    /** MoE on layer i when i >= first_k_dense_replace and i % moe_layer_freq == 0, as in DeepSeek's modeling code. */
    private static ModelSpec deepseek(Keys c, String name, String type) {
        int layers = c.integer("num_hidden_layers");
        AttentionSpec attention = new AttentionSpec.Mla(c.integer("num_attention_heads"), c.integer("q_lora_rank", 0),
                c.integer("kv_lora_rank"), c.integer("qk_nope_head_dim"), c.integer("qk_rope_head_dim"),
                c.integer("v_head_dim"));
        int experts = c.integer("n_routed_experts", 0);
        int moe = 0;
        if (experts > 0) {
            int firstMoe = c.integer("first_k_dense_replace", 0);
            int every = c.integer("moe_layer_freq", 1);
            for (int i = firstMoe; i < layers; i++) {
                moe += i % every == 0 ? 1 : 0;
            }
        }
        int width = c.integer("moe_intermediate_size", 0);
        FfnSpec ffn = new FfnSpec(layers - moe, c.integer("intermediate_size"), moe, experts,
                c.integer("num_experts_per_tok", 0), c.integer("n_shared_experts", 0), width, width);
        return new ModelSpec(name, type, c.integer("hidden_size"), layers, c.integer("vocab_size"),
                c.bool("tie_word_embeddings", false), attention, ffn);
    }

    /**
     * MoE on layer i when i is not in mlp_only_layers and (i + 1) % decoder_sparse_step == 0, as in the Qwen3-MoE
     * modeling code; the other layers are dense MLPs of intermediate_size.
     */
    private static ModelSpec qwen3Moe(Keys c, String name, String type) {
        int layers = c.integer("num_hidden_layers");
        Set<Integer> mlpOnly = new HashSet<>();
        c.node().path("mlp_only_layers").forEach(n -> mlpOnly.add(n.asInt()));
        int experts = c.integer("num_experts", 0);
        int step = c.integer("decoder_sparse_step", 1);
        int moe = 0;
        for (int i = 0; i < layers && experts > 0; i++) {
            moe += !mlpOnly.contains(i) && (i + 1) % step == 0 ? 1 : 0;
        }
        FfnSpec ffn = new FfnSpec(layers - moe, c.integer("intermediate_size", 0), moe, experts,
                c.integer("num_experts_per_tok", 0), 0, c.integer("moe_intermediate_size", 0), 0);
        return new ModelSpec(name, type, c.integer("hidden_size"), layers, c.integer("vocab_size"),
                c.bool("tie_word_embeddings", false), gqa(c), ffn);
    }

    private static ModelSpec denseGqa(Keys c, String name, String type) {
        int layers = c.integer("num_hidden_layers");
        return new ModelSpec(name, type, c.integer("hidden_size"), layers, c.integer("vocab_size"),
                c.bool("tie_word_embeddings", false), gqa(c), FfnSpec.dense(layers, c.integer("intermediate_size")));
    }

    /** num_key_value_heads defaults to the query heads (plain MHA), head_dim to hidden_size / heads. */
    private static AttentionSpec gqa(Keys c) {
        int heads = c.integer("num_attention_heads");
        return new AttentionSpec.Gqa(heads, c.integer("num_key_value_heads", heads),
                c.integer("head_dim", c.integer("hidden_size") / heads));
    }

    /** Typed access to config keys, with messages naming the key and the file. */
    private record Keys(JsonNode node, String source) {
        int integer(String key) {
            JsonNode v = node.path(key);
            if (!v.isIntegralNumber()) {
                throw new CostInputException(source + ": " + key
                        + (v.isMissingNode() ? " is missing" : " must be an integer, got " + v));
            }
            return v.asInt();
        }

        /** The value, or {@code fallback} when the key is absent or null. */
        int integer(String key, int fallback) {
            return node.has(key) && !node.path(key).isNull() ? integer(key) : fallback;
        }

        boolean bool(String key, boolean fallback) {
            JsonNode v = node.path(key);
            if (v.isMissingNode() || v.isNull()) {
                return fallback;
            }
            if (!v.isBoolean()) {
                throw new CostInputException(source + ": " + key + " must be true or false, got " + v);
            }
            return v.asBoolean();
        }
    }
}
